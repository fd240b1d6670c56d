/*
 * bounce_dsn.c - non-delivery notifications and delay warnings, written
 * as new queue files (see bounce_dsn.h).
 *
 * Which recipients a notification lists: the targets whose status is
 * "bounced" (failures) or "deferred"/untried (delays), whose recipient's
 * NOTIFY allows it (none given means failures and delays, RFC 3461).
 * Where a reason came from a remote server ("host H[A] said: REPLY (in
 * reply to ...)"), the report names the server (Remote-MTA) and quotes
 * its reply (Diagnostic-Code: smtp; REPLY); other reasons are ours
 * (Diagnostic-Code: X-mailsift; text).
 *
 * Logged as Postfix logs it: "ID: sender non-delivery notification: NEWID",
 * "ID: sender delay notification: NEWID".
 *
 * Trusts: the queue file; addresses and texts are copied into the report
 * as they are (they were checked when they entered the queue).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "libmatch/config.h"
#include "libmatch/header.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/bounce_dsn.h"
#include "mta-core/queue.h"

#define BOUNCE_FAILED 0
#define BOUNCE_DELAYED 1
#define BOUNCE_WRAP 76 /* text lines of the report are folded about here */

/* What one notification needs to know. */
struct bounce_ctx {
    const struct queue_msg *msg;
    struct config *cfg;
    int kind;                   /* BOUNCE_FAILED, BOUNCE_DELAYED */
    char *myhostname;           /* copied: config_get() results do not last */
    struct queue_file *qf;
    struct buf line;
    size_t *targets;            /* the targets the report is about */
    size_t n;
};

/* bounce_date - an RFC 5322 date */
static void bounce_date(struct buf *out, time_t when)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    long off;

    localtime_r(&when, &tm);
    off = tm.tm_gmtoff / 60;
    buf_printf(out, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
               tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
               (off < 0 ? -off : off) % 60);
}

/* bounce_put - one line of the notification */
static void bounce_put(struct bounce_ctx *b, const char *text)
{
    queue_write(b->qf, text, strlen(text));
    queue_write(b->qf, "\n", 1);
}

/* bounce_putf - one formatted line */
static void __attribute__((format(printf, 2, 3))) bounce_putf(struct bounce_ctx *b, const char *fmt, ...)
{
    va_list ap;

    buf_reset(&b->line);
    va_start(ap, fmt);
    buf_vprintf(&b->line, fmt, ap);
    va_end(ap);
    bounce_put(b, b->line.data);
}

/*
 * bounce_put_folded - a long line folded at blanks near BOUNCE_WRAP,
 * continuation lines starting with indent (a header field: " ")
 */
static void bounce_put_folded(struct bounce_ctx *b, const char *text, const char *indent)
{
    size_t len = strlen(text), start = 0, width = BOUNCE_WRAP;

    while (len - start > width) {
        size_t cut = start + width;

        while (cut > start && text[cut] != ' ')
            cut--;
        if (cut == start) {
            /* No blank to fold at: the next one, however far. */
            cut = start + width;
            while (cut < len && text[cut] != ' ')
                cut++;
            if (cut == len)
                break;
        }
        buf_reset(&b->line);
        if (start > 0)
            buf_addstr(&b->line, indent);
        buf_add(&b->line, text + start, cut - start);
        bounce_put(b, b->line.data);
        start = cut + 1;
        width = BOUNCE_WRAP - strlen(indent);
    }
    buf_reset(&b->line);
    if (start > 0)
        buf_addstr(&b->line, indent);
    buf_addstr(&b->line, text + start);
    bounce_put(b, b->line.data);
}

/* bounce_xtext_decode - RFC 3461 xtext ("a+2Bb") to text */
static void bounce_xtext_decode(struct buf *out, const char *s)
{
    for (; *s; s++) {
        if (s[0] == '+' && s[1] && s[2]) {
            unsigned v = 0;
            int i, ok = 1;

            for (i = 1; i <= 2; i++) {
                char c = s[i];

                v <<= 4;
                if (c >= '0' && c <= '9')
                    v |= (unsigned) (c - '0');
                else if (c >= 'A' && c <= 'F')
                    v |= (unsigned) (c - 'A' + 10);
                else
                    ok = 0;
            }
            if (ok && v >= 0x21 && v <= 0x7e) {
                buf_addch(out, (char) v);
                s += 2;
                continue;
            }
        }
        buf_addch(out, *s);
    }
}

/* bounce_final_rcpt - the address a target was for (for |command and /file: the alias) */
static const char *bounce_final_rcpt(const struct queue_target *t)
{
    return strcmp(t->kind, "mailbox") == 0 || strcmp(t->kind, "relay") == 0 ? t->target : t->alias;
}

/* bounce_remote - "host H[A] said: REPLY (in reply to ...)": H and REPLY; 0 when the reason is ours */
static int bounce_remote(const char *text, struct buf *host, struct buf *reply)
{
    const char *said, *open, *in;

    if (text == NULL || strncmp(text, "host ", 5) != 0 || (said = strstr(text, " said: ")) == NULL)
        return 0;
    open = memchr(text + 5, '[', (size_t) (said - text - 5));
    buf_set(host, text + 5, (size_t) ((open ? open : said) - (text + 5)));
    in = strstr(said, " (in reply to ");
    buf_set(reply, said + 7, in ? (size_t) (in - said - 7) : strlen(said + 7));
    return 1;
}

/* bounce_wanted - does this target belong in a notification of this kind? */
static int bounce_wanted(const struct queue_msg *msg, const struct queue_target *t, int kind)
{
    int notify = msg->rcpts[t->parent].notify;

    if (kind == BOUNCE_FAILED) {
        if (t->status == NULL || strcmp(t->status, "bounced") != 0)
            return 0;
        return notify == 0 || (notify & QUEUE_NOTIFY_FAILURE);
    }
    if (t->status && strcmp(t->status, "deferred") != 0)
        return 0;
    return notify == 0 || (notify & QUEUE_NOTIFY_DELAY);
}

/* bounce_text_part - the part a person reads */
static void bounce_text_part(struct bounce_ctx *b, const char *boundary, long lifetime)
{
    struct buf tmp = BUF_INIT;
    size_t i;

    bounce_putf(b, "--%s", boundary);
    bounce_put(b, "Content-Description: Notification");
    bounce_put(b, "Content-Type: text/plain; charset=utf-8");
    bounce_put(b, "");
    bounce_putf(b, "This is the mail system at host %s.", b->myhostname);
    bounce_put(b, "");
    if (b->kind == BOUNCE_FAILED) {
        bounce_put(b, "Your message could not be delivered to one or more of its recipients,");
        bounce_put(b, "and no further attempts will be made. The addresses and the reasons");
        bounce_put(b, "are below; your message is attached.");
    } else {
        buf_reset(&tmp);
        bounce_date(&tmp, (time_t) b->msg->arrival.tv_sec + lifetime);
        bounce_put(b, "Your message has not been delivered yet to the recipients below.");
        bounce_put(b, "This is only a warning: there is no need to send it again.");
        bounce_putf(b, "The mail system will keep trying until %s.", tmp.data);
    }
    bounce_put(b, "");
    bounce_put(b, "If you need help, write to the postmaster of this site and include");
    bounce_put(b, "this report.");
    bounce_put(b, "");
    for (i = 0; i < b->n; i++) {
        const struct queue_target *t = &b->msg->targets[b->targets[i]];

        buf_reset(&tmp);
        buf_printf(&tmp, "<%s>: %s", bounce_final_rcpt(t), t->text ? t->text : b->msg->defer_text ? b->msg->defer_text
                                                                                                  : "no reason known");
        bounce_put_folded(b, tmp.data, "    ");
        bounce_put(b, "");
    }
    buf_free(&tmp);
}

/* bounce_status_part - message/delivery-status */
static void bounce_status_part(struct bounce_ctx *b, const char *boundary, long lifetime)
{
    const struct queue_msg *msg = b->msg;
    struct buf tmp = BUF_INIT, host = BUF_INIT, reply = BUF_INIT;
    size_t i;

    bounce_putf(b, "--%s", boundary);
    bounce_put(b, "Content-Description: Delivery report");
    bounce_put(b, msg->sender && queue_msg_param(msg, "SMTPUTF8") ? "Content-Type: message/global-delivery-status"
                                                                   : "Content-Type: message/delivery-status");
    bounce_put(b, "");
    bounce_putf(b, "Reporting-MTA: dns; %s", b->myhostname);
    bounce_putf(b, "X-Mailsift-Queue-ID: %s", msg->id);
    bounce_putf(b, "X-Mailsift-Sender: rfc822; %s", msg->sender);
    if (queue_msg_param(msg, "ENVID")) {
        buf_reset(&tmp);
        bounce_xtext_decode(&tmp, queue_msg_param(msg, "ENVID"));
        bounce_putf(b, "Original-Envelope-Id: %s", tmp.data);
    }
    buf_reset(&tmp);
    bounce_date(&tmp, msg->arrival.tv_sec);
    bounce_putf(b, "Arrival-Date: %s", tmp.data);
    for (i = 0; i < b->n; i++) {
        const struct queue_target *t = &msg->targets[b->targets[i]];
        const struct queue_rcpt *r = &msg->rcpts[t->parent];
        const char *final = bounce_final_rcpt(t);
        const char *dsn = t->dsn ? t->dsn : msg->defer_dsn ? msg->defer_dsn : b->kind == BOUNCE_FAILED ? "5.0.0"
                                                                                                        : "4.0.0";
        const char *text = t->text ? t->text : msg->defer_text ? msg->defer_text : "no reason known";

        bounce_put(b, "");
        bounce_putf(b, "Final-Recipient: rfc822; %s", final);
        if (r->orcpt && *r->orcpt) {
            const char *semi = strchr(r->orcpt, ';');

            buf_reset(&tmp);
            if (semi) {
                buf_add(&tmp, r->orcpt, (size_t) (semi - r->orcpt + 1));
                buf_addch(&tmp, ' ');
                bounce_xtext_decode(&tmp, semi + 1);
            } else {
                bounce_xtext_decode(&tmp, r->orcpt);
            }
            bounce_putf(b, "Original-Recipient: %s", tmp.data);
        } else if (strcasecmp(r->address, final) != 0) {
            bounce_putf(b, "Original-Recipient: rfc822; %s", r->address);
        }
        bounce_putf(b, "Action: %s", b->kind == BOUNCE_FAILED ? "failed" : "delayed");
        /* An expired message keeps the status of its last temporary failure, as in Postfix. */
        bounce_putf(b, "Status: %s", dsn);
        buf_reset(&tmp);
        if (bounce_remote(strncmp(text, "message expired: ", 17) == 0 ? text + 17 : text, &host, &reply)) {
            bounce_putf(b, "Remote-MTA: dns; %s", host.data);
            buf_printf(&tmp, "Diagnostic-Code: smtp; %s", reply.data);
        } else {
            buf_printf(&tmp, "Diagnostic-Code: X-mailsift; %s", text);
        }
        bounce_put_folded(b, tmp.data, " ");
        if (t->when > 0) {
            buf_reset(&tmp);
            bounce_date(&tmp, (time_t) t->when);
            bounce_putf(b, "Last-Attempt-Date: %s", tmp.data);
        }
        if (b->kind == BOUNCE_DELAYED) {
            buf_reset(&tmp);
            bounce_date(&tmp, (time_t) msg->arrival.tv_sec + lifetime);
            bounce_putf(b, "Will-Retry-Until: %s", tmp.data);
        }
    }
    buf_free(&tmp);
    buf_free(&host);
    buf_free(&reply);
}

/* bounce_is_header - a header line or a continuation of one */
static int bounce_is_header(const char *line, size_t len)
{
    if (len > 0 && (line[0] == ' ' || line[0] == '\t'))
        return 1;
    return header_label_len(line, len) > 0;
}

/* bounce_original_part - the message (or its header) as it was queued; -1 on a read error */
static int bounce_original_part(struct bounce_ctx *b, const char *boundary, int fd, int headers_only,
                                struct buf *err)
{
    const struct queue_msg *msg = b->msg;
    int global = queue_msg_param(msg, "SMTPUTF8") != NULL;
    struct queue_content *qc;
    struct buf line = BUF_INIT;
    int eol, rc;

    bounce_put(b, "");
    bounce_putf(b, "--%s", boundary);
    bounce_putf(b, "Content-Description: %s%s", b->kind == BOUNCE_FAILED ? "Undelivered " : "",
                headers_only ? "Message Headers" : "Message");
    if (global)
        bounce_putf(b, "Content-Type: message/%s", headers_only ? "global-headers" : "global");
    else
        bounce_putf(b, "Content-Type: %s", headers_only ? "text/rfc822-headers" : "message/rfc822");
    if (queue_msg_param(msg, "BODY") && strcasecmp(queue_msg_param(msg, "BODY"), "8BITMIME") == 0)
        bounce_put(b, "Content-Transfer-Encoding: 8bit");
    bounce_put(b, "");
    bounce_putf(b, "Return-Path: <%s>", msg->sender);
    qc = queue_content_open(fd, msg->content_start, msg->content_end);
    while ((rc = queue_content_next(qc, &line, &eol, err)) > 0) {
        if (headers_only && !bounce_is_header(line.data, line.len))
            break;
        queue_write(b->qf, line.data, line.len);
        queue_write(b->qf, "\n", 1);
    }
    queue_content_close(qc);
    buf_free(&line);
    if (rc < 0)
        return -1;
    bounce_put(b, "");
    bounce_putf(b, "--%s--", boundary);
    return 0;
}

/* bounce_send - write and queue one notification; 0, or -1 */
static int bounce_send(struct bounce_ctx *b, int fd)
{
    const struct queue_msg *msg = b->msg;
    struct buf err = BUF_INIT, boundary = BUF_INIT, tmp = BUF_INIT;
    char *qd = mem_strdup(config_get(b->cfg, "queue_directory"));
    long lifetime = 0, size_limit = 0;
    int headers_only, eightbit;
    char id[QUEUE_ID_SIZE];
    time_t now = time(NULL);

    if (config_get_time(b->cfg, "maximal_queue_lifetime", 'd', &lifetime, &err) < 0 ||
        config_get_int(b->cfg, "bounce_size_limit", 0, 1000000000L, &size_limit, &err) < 0) {
        msg_warn("%s: notification: %s", msg->id, err.data);
        buf_free(&err);
        mem_free(qd);
        return -1;
    }
    b->qf = queue_create(qd, &err);
    mem_free(qd);
    if (b->qf == NULL) {
        msg_warn("%s: cannot queue a notification: %s", msg->id, err.data);
        buf_free(&err);
        return -1;
    }
    snprintf(id, sizeof(id), "%s", queue_file_id(b->qf));
    queue_set_sender(b->qf, "");
    queue_add_rcpt(b->qf, msg->sender, 0, "");
    queue_add_attr(b->qf, "protocol", "local");
    queue_add_attr(b->qf, "notification_of", msg->id);
    eightbit = queue_msg_param(msg, "BODY") && strcasecmp(queue_msg_param(msg, "BODY"), "8BITMIME") == 0;
    if (eightbit)
        queue_add_sender_param(b->qf, "BODY", "8BITMIME");
    if (queue_msg_param(msg, "SMTPUTF8"))
        queue_add_sender_param(b->qf, "SMTPUTF8", "");
    headers_only = b->kind == BOUNCE_DELAYED || (queue_msg_param(msg, "RET") &&
                                                 strcasecmp(queue_msg_param(msg, "RET"), "HDRS") == 0) ||
                   (size_limit > 0 && msg->size > (size_t) size_limit);
    buf_printf(&boundary, "%s.%ld/%s", id, (long) now, b->myhostname);

    bounce_putf(b, "From: MAILER-DAEMON@%s (Mail Delivery System)", b->myhostname);
    bounce_putf(b, "To: %s", msg->sender);
    bounce_putf(b, "Subject: %s", b->kind == BOUNCE_FAILED ? "Undelivered Mail Returned to Sender"
                                                           : "Delayed Mail (still being retried)");
    bounce_date(&tmp, now);
    bounce_putf(b, "Date: %s", tmp.data);
    bounce_putf(b, "Message-ID: <%s@%s>", id, b->myhostname);
    bounce_put(b, "Auto-Submitted: auto-replied");
    bounce_put(b, "MIME-Version: 1.0");
    bounce_putf(b, "Content-Type: multipart/report; report-type=%s;",
                queue_msg_param(msg, "SMTPUTF8") ? "global-delivery-status" : "delivery-status");
    bounce_putf(b, "\tboundary=\"%s\"", boundary.data);
    bounce_putf(b, "Content-Transfer-Encoding: %s", eightbit ? "8bit" : "7bit");
    bounce_put(b, "");
    bounce_put(b, "This is a MIME-encapsulated message.");
    bounce_put(b, "");
    bounce_text_part(b, boundary.data, lifetime);
    bounce_status_part(b, boundary.data, lifetime);
    if (bounce_original_part(b, boundary.data, fd, headers_only, &err) < 0) {
        msg_warn("%s: notification: cannot read the original: %s", msg->id, err.data);
        queue_abort(b->qf);
        b->qf = NULL;
        buf_free(&err);
        buf_free(&boundary);
        buf_free(&tmp);
        return -1;
    }
    if (queue_commit(b->qf, &err) < 0) {
        msg_warn("%s: cannot queue a notification: %s", msg->id, err.data);
        b->qf = NULL;
        buf_free(&err);
        buf_free(&boundary);
        buf_free(&tmp);
        return -1;
    }
    b->qf = NULL;
    msg_info("%s: sender %s notification: %s", msg->id, b->kind == BOUNCE_FAILED ? "non-delivery" : "delay", id);
    qmgr_kick();
    buf_free(&err);
    buf_free(&boundary);
    buf_free(&tmp);
    return 0;
}

/* bounce_collect - the targets a notification of this kind is about */
static void bounce_collect(struct bounce_ctx *b)
{
    size_t i;

    b->targets = mem_array(b->msg->ntargets ? b->msg->ntargets : 1, sizeof(*b->targets));
    b->n = 0;
    for (i = 0; i < b->msg->ntargets; i++)
        if (bounce_wanted(b->msg, &b->msg->targets[i], b->kind))
            b->targets[b->n++] = i;
}

/* bounce_notify - see bounce_dsn.h */
int bounce_notify(const struct queue_msg *msg, int fd, struct config *cfg)
{
    struct bounce_ctx b;
    int rc = 0;

    if (msg->sender == NULL || *msg->sender == 0)
        return 0; /* never a notification about a notification */
    memset(&b, 0, sizeof(b));
    b.msg = msg;
    b.cfg = cfg;
    b.kind = BOUNCE_FAILED;
    b.myhostname = mem_strdup(config_get(cfg, "myhostname"));
    buf_init(&b.line);
    bounce_collect(&b);
    if (b.n == 0)
        msg_info("%s: no non-delivery notification: the recipients' NOTIFY excludes it", msg->id);
    else
        rc = bounce_send(&b, fd);
    mem_free(b.targets);
    mem_free(b.myhostname);
    buf_free(&b.line);
    return rc;
}

/* bounce_delay_warning - see bounce_dsn.h */
void bounce_delay_warning(const struct queue_msg *msg, int fd, struct config *cfg)
{
    struct bounce_ctx b;
    struct buf err = BUF_INIT, rec = BUF_INIT;
    long warn_after = 0;
    time_t now = time(NULL);

    if (msg->sender == NULL || *msg->sender == 0 || msg->warned > 0)
        return;
    if (config_get_time(cfg, "delay_warning_time", 'h', &warn_after, &err) < 0) {
        msg_warn("%s", err.data);
        buf_free(&err);
        return;
    }
    if (warn_after <= 0 || now - msg->arrival.tv_sec < warn_after)
        return;
    memset(&b, 0, sizeof(b));
    b.msg = msg;
    b.cfg = cfg;
    b.kind = BOUNCE_DELAYED;
    b.myhostname = mem_strdup(config_get(cfg, "myhostname"));
    buf_init(&b.line);
    bounce_collect(&b);
    /* Sent or not wanted, it is never considered again: one warning per message. */
    if (b.n == 0 || bounce_send(&b, fd) == 0) {
        buf_printf(&rec, "%ld", (long) now);
        if (queue_append(fd, 'G', rec.data, rec.len, &err) < 0)
            msg_warn("%s: cannot record the delay warning (another may be sent): %s", msg->id, err.data);
    }
    mem_free(b.targets);
    mem_free(b.myhostname);
    buf_free(&b.line);
    buf_free(&err);
    buf_free(&rec);
}

/* bounce_register - the queue manager's notification hooks */
void bounce_register(void)
{
    qmgr_set_bounce(bounce_notify);
    qmgr_set_delay_warning(bounce_delay_warning);
}
