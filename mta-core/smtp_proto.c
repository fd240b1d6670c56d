/*
 * smtp_proto.c - the SMTP client's sessions: the addresses of a next hop
 * in turn, and on each one the greeting, EHLO (HELO when EHLO is refused),
 * STARTTLS, MAIL FROM, one RCPT TO per recipient, DATA and QUIT.
 *
 * What happens after a failure is Postfix's smtp_trouble.c policy:
 *
 *   - the server could not be reached, refused the greeting or EHLO/HELO,
 *     broke the connection or timed out, or refused MAIL FROM or the
 *     message with a 4xx: the next address is tried (up to
 *     smtp_mx_session_limit sessions); on the last one the recipients
 *     still open are deferred with that reason;
 *   - a 5xx to MAIL FROM, DATA or the end of the message (and the
 *     last server's 5xx greeting when smtp_skip_5xx_greeting is off)
 *     bounces the recipients still open;
 *   - a recipient refused with 5xx bounces, with 4xx it is tried again
 *     on the next server, or deferred on the last one.
 *
 * With PIPELINING, MAIL FROM, every RCPT TO and DATA go in one write and
 * the replies are read in order (RFC 2920); without it, one at a time.
 * A next hop without 8BITMIME gets 8-bit mail converted (smtp_mime.c)
 * unless disable_mime_output_conversion; SIZE is then not announced, as
 * the size changes.  A server whose EHLO reply names this host is us:
 * the mail would loop (5.4.6 from the best MX, 4.4.6 from a backup).
 *
 * Trusts: the configuration and the queue file; nothing from the server
 * (replies through smtp_reply.c, within smtp_conn.c's limits).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/queue.h"
#include "mta-core/quote_addr.h"
#include "mta-core/smtp_conn.h"
#include "mta-core/smtp_proto.h"
#include "mta-core/smtp_reply.h"

/* What the whole delivery knows about the message (computed once). */
struct smtp_facts {
    int scanned;
    int failed;             /* the queue file could not be read */
    struct buf why;
    int eightbit;           /* the encoding is 8bit (BODY=8BITMIME or an 8-bit MIME part) */
    int sevenbit;           /* BODY=7BIT and nothing 8-bit */
    int utf8;               /* SMTPUTF8 asked for and needed */
};

struct smtp_session {
    const struct smtp_conf *conf;
    const struct smtp_msg *msg;
    const struct smtp_addr *addr;
    const char *nexthop;
    struct smtp_facts *facts;
    struct smtp_rcpt *rcpts;
    size_t n;
    struct smtp_conn conn;
    struct smtp_reply reply;
    struct smtp_ehlo ehlo;
    struct buf namaddr;     /* host[addr] */
    struct buf relay;       /* host[addr]:port */
    struct buf line;
    int connected;
    int final;              /* the last server of this delivery */
    int best_mx;
    int plaintext;          /* no STARTTLS this time (a handshake failed before) */
    int tls_retry;          /* out: the handshake failed under "may": try again in plaintext */
};

/* smtp_rcpt_init - a recipient not yet tried */
void smtp_rcpt_init(struct smtp_rcpt *r, const char *address, const char *orcpt, int notify)
{
    memset(r, 0, sizeof(*r));
    r->address = address;
    r->orcpt = orcpt && *orcpt ? orcpt : NULL;
    r->notify = notify;
    r->status = SMTP_RCPT_OPEN;
    buf_init(&r->text);
    buf_init(&r->relay);
}

void smtp_rcpt_free(struct smtp_rcpt *r)
{
    buf_free(&r->text);
    buf_free(&r->relay);
}

/* smtp_status_name - the queue's word for a status */
const char *smtp_status_name(int status)
{
    switch (status) {
    case SMTP_RCPT_SENT:
        return "sent";
    case SMTP_RCPT_BOUNCED:
        return "bounced";
    default:
        return "deferred";
    }
}

/*
 * smtp_rcpt_fail - one recipient failed: bounced (5xx), deferred (4xx on
 * the last server), or kept open for the next server with this reason
 */
static void smtp_rcpt_fail(struct smtp_session *s, struct smtp_rcpt *r, const char *dsn, const char *relay,
                           const char *text)
{
    snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
    buf_setstr(&r->text, text);
    buf_setstr(&r->relay, relay);
    r->accepted = 0;
    if (dsn[0] == '5')
        r->status = SMTP_RCPT_BOUNCED;
    else if (s->final)
        r->status = SMTP_RCPT_DEFERRED;
}

/* smtp_fail_all - every recipient still open (or only the accepted ones) fails alike */
static void smtp_fail_all(struct smtp_session *s, int accepted_only, const char *dsn, const char *relay,
                          const char *text)
{
    size_t i, kept = 0;

    for (i = 0; i < s->n; i++) {
        struct smtp_rcpt *r = &s->rcpts[i];

        if (r->status != SMTP_RCPT_OPEN || (accepted_only && !r->accepted))
            continue;
        smtp_rcpt_fail(s, r, dsn, relay, text);
        kept += r->status == SMTP_RCPT_OPEN;
    }
    /* Skipping to the next server is worth a line (a refused connection logs its own). */
    if (kept && strcmp(relay, "none") != 0)
        msg_info("%s: %s", s->msg->queue_id, text);
}

/* smtp_said - "host X[a] said: REPLY (in reply to CMD command)" for every open recipient */
static void smtp_said_all(struct smtp_session *s, int accepted_only, const char *cmd)
{
    struct buf text = BUF_INIT;

    buf_printf(&text, "host %s said: ", s->namaddr.data);
    smtp_reply_flat(&s->reply, &text);
    buf_printf(&text, " (in reply to %s command)", cmd);
    smtp_fail_all(s, accepted_only, s->reply.dsn, s->relay.data, text.data);
    buf_free(&text);
}

/* smtp_io_fail - the connection broke or timed out during stage */
static void smtp_io_fail(struct smtp_session *s, int io, const char *stage)
{
    struct buf text = BUF_INIT;

    if (io == SMTP_IO_TIMEOUT)
        buf_printf(&text, "conversation with %s timed out while %s", s->namaddr.data, stage);
    else
        buf_printf(&text, "lost connection with %s while %s", s->namaddr.data, stage);
    smtp_fail_all(s, 0, "4.4.2", s->relay.data, text.data);
    buf_free(&text);
}

/* smtp_read - one reply within timeout; SMTP_IO_*, with the failure recorded for stage */
static int smtp_read(struct smtp_session *s, long timeout, const char *stage)
{
    struct buf err = BUF_INIT;
    int io, rc;

    smtp_reply_reset(&s->reply);
    for (;;) {
        io = smtp_conn_read_line(&s->conn, &s->line, timeout);
        if (io != SMTP_IO_OK) {
            smtp_io_fail(s, io, stage);
            buf_free(&err);
            return io;
        }
        rc = smtp_reply_line(&s->reply, s->line.data, s->line.len, &err);
        if (rc < 0) {
            struct buf text = BUF_INIT;

            buf_printf(&text, "conversation with %s failed while %s: %s", s->namaddr.data, stage, err.data);
            smtp_fail_all(s, 0, "4.4.2", s->relay.data, text.data);
            buf_free(&text);
            buf_free(&err);
            return SMTP_IO_LOST;
        }
        if (rc == 1)
            break;
    }
    msg_debug("%s: < %s: %s", s->msg->queue_id, s->namaddr.data, s->reply.text.data);
    buf_free(&err);
    return SMTP_IO_OK;
}

/* smtp_send - one command: buffered, written now unless pipelining; SMTP_IO_* */
static int smtp_send(struct smtp_session *s, const char *cmd, int pipelined, long timeout, const char *stage)
{
    int io = SMTP_IO_OK;

    msg_debug("%s: > %s: %s", s->msg->queue_id, s->namaddr.data, cmd);
    smtp_conn_puts(&s->conn, cmd);
    smtp_conn_puts(&s->conn, "\r\n");
    if (!pipelined) {
        io = smtp_conn_flush(&s->conn, timeout);
        if (io != SMTP_IO_OK)
            smtp_io_fail(s, io, stage);
    }
    return io;
}

/* smtp_facts_get - scan the message once: its encoding, and whether it needs SMTPUTF8 */
static void smtp_facts_get(struct smtp_session *s)
{
    struct smtp_facts *f = s->facts;
    const struct smtp_msg *m = s->msg;
    int cte8 = 0, utf8_hdr = 0;
    size_t i;

    if (f->scanned)
        return;
    f->scanned = 1;
    if (smtp_content_scan(m, &cte8, &utf8_hdr, &f->why) < 0) {
        f->failed = 1;
        return;
    }
    f->eightbit = cte8 || (m->body && strcasecmp(m->body, "8BITMIME") == 0);
    f->sevenbit = !f->eightbit && m->body && strcasecmp(m->body, "7BIT") == 0;
    if (m->smtputf8) {
        int non_ascii = utf8_hdr;
        const char *p;

        for (p = m->sender; *p && !non_ascii; p++)
            non_ascii = (unsigned char) *p >= 0x80;
        for (i = 0; i < s->n && !non_ascii; i++)
            for (p = s->rcpts[i].address; *p && !non_ascii; p++)
                non_ascii = (unsigned char) *p >= 0x80;
        f->utf8 = non_ascii;
    }
}

/* smtp_helo - greeting, EHLO or HELO; 0, or -1 when the session is over (recorded) */
static int smtp_helo(struct smtp_session *s, int after_tls)
{
    const struct smtp_conf *conf = s->conf;
    struct buf cmd = BUF_INIT, text = BUF_INIT;
    int esmtp = 1, io;

    if (!after_tls) {
        if (smtp_read(s, conf->helo_timeout, "receiving the initial server greeting") != SMTP_IO_OK)
            return -1;
        if (s->reply.code / 100 != 2) {
            if (s->reply.dsn[0] == '5' && conf->skip_5xx_greeting)
                s->reply.dsn[0] = '4';
            buf_printf(&text, "host %s refused to talk to me: ", s->namaddr.data);
            smtp_reply_flat(&s->reply, &text);
            smtp_fail_all(s, 0, s->reply.dsn, s->relay.data, text.data);
            buf_free(&text);
            return -1;
        }
        esmtp = conf->always_ehlo || strstr(s->reply.text.data, "ESMTP") != NULL;
        if (conf->never_ehlo)
            esmtp = 0;
    }
    if (esmtp) {
        buf_printf(&cmd, "EHLO %s", conf->helo_name);
        if (smtp_send(s, cmd.data, 0, conf->helo_timeout, "performing the EHLO handshake") != SMTP_IO_OK ||
            smtp_read(s, conf->helo_timeout, "performing the EHLO handshake") != SMTP_IO_OK) {
            buf_free(&cmd);
            return -1;
        }
        if (s->reply.code / 100 != 2) {
            if (s->reply.code == 421 || after_tls) {
                buf_printf(&text, "host %s refused to talk to me: ", s->namaddr.data);
                smtp_reply_flat(&s->reply, &text);
                smtp_fail_all(s, 0, s->reply.dsn, s->relay.data, text.data);
                buf_free(&text);
                buf_free(&cmd);
                return -1;
            }
            esmtp = 0;
        }
    }
    if (!esmtp) {
        buf_reset(&cmd);
        buf_printf(&cmd, "HELO %s", conf->helo_name);
        io = smtp_send(s, cmd.data, 0, conf->helo_timeout, "performing the HELO handshake");
        if (io != SMTP_IO_OK || smtp_read(s, conf->helo_timeout, "performing the HELO handshake") != SMTP_IO_OK) {
            buf_free(&cmd);
            return -1;
        }
        if (s->reply.code / 100 != 2) {
            buf_printf(&text, "host %s refused to talk to me: ", s->namaddr.data);
            smtp_reply_flat(&s->reply, &text);
            smtp_fail_all(s, 0, s->reply.dsn, s->relay.data, text.data);
            buf_free(&text);
            buf_free(&cmd);
            return -1;
        }
        s->ehlo.ext = 0;
        s->ehlo.size = 0;
        buf_reset(&s->ehlo.name);
    } else {
        smtp_ehlo_parse(&s->reply, &s->ehlo);
    }
    buf_free(&cmd);
    /* Talking to ourselves: the mail would come back here. */
    if (esmtp && s->ehlo.name.len && strcasecmp(s->ehlo.name.data, conf->myhostname) == 0) {
        msg_warn("host %s replied to HELO/EHLO with my own hostname %s", s->relay.data, conf->myhostname);
        buf_printf(&text, "mail for %s loops back to myself", s->nexthop);
        smtp_fail_all(s, 0, s->best_mx ? "5.4.6" : "4.4.6", s->relay.data, text.data);
        buf_free(&text);
        return -1;
    }
    buf_free(&text);
    return 0;
}

/* smtp_starttls - STARTTLS when offered and wanted; 0 to go on, -1 when the session is over */
static int smtp_starttls(struct smtp_session *s)
{
    const struct smtp_conf *conf = s->conf;
    struct buf text = BUF_INIT, err = BUF_INIT;
    int io;

    if (conf->tls_level == SMTP_TLS_NONE || conf->tls_ctx == NULL)
        return 0;
    if (s->plaintext)
        return 0;
    if (!(s->ehlo.ext & SMTP_EXT_STARTTLS)) {
        if (conf->tls_level == SMTP_TLS_MAY)
            return 0;
        buf_printf(&text, "TLS is required, but was not offered by host %s", s->namaddr.data);
        smtp_fail_all(s, 0, "4.7.4", s->relay.data, text.data);
        buf_free(&text);
        return -1;
    }
    if (smtp_send(s, "STARTTLS", 0, conf->starttls_timeout, "sending STARTTLS") != SMTP_IO_OK ||
        smtp_read(s, conf->starttls_timeout, "receiving the STARTTLS response") != SMTP_IO_OK)
        return -1;
    if (s->reply.code != 220) {
        if (conf->tls_level == SMTP_TLS_MAY) {
            buf_printf(&text, "host %s refused STARTTLS: ", s->namaddr.data);
            smtp_reply_flat(&s->reply, &text);
            msg_info("%s: %s: going on without TLS", s->msg->queue_id, text.data);
            buf_free(&text);
            return 0;
        }
        buf_printf(&text, "TLS is required, but host %s refused to start TLS: ", s->namaddr.data);
        smtp_reply_flat(&s->reply, &text);
        smtp_fail_all(s, 0, "4.7.5", s->relay.data, text.data);
        buf_free(&text);
        return -1;
    }
    io = smtp_conn_starttls(&s->conn, conf->tls_ctx, s->addr->host, conf->starttls_timeout, &err);
    if (io != SMTP_IO_OK) {
        buf_printf(&text, "Cannot start TLS: handshake failure with %s: %s", s->namaddr.data, err.data);
        if (conf->tls_level == SMTP_TLS_MAY) {
            /* Opportunistic: the same server again, without TLS. */
            msg_info("%s: %s: will try again without TLS", s->msg->queue_id, text.data);
            s->tls_retry = 1;
        } else {
            smtp_fail_all(s, 0, "4.7.5", s->relay.data, text.data);
        }
        buf_free(&text);
        buf_free(&err);
        return -1;
    }
    msg_info("Untrusted TLS connection established to %s: %s", s->relay.data, s->conn.tls_info.data);
    buf_free(&text);
    buf_free(&err);
    return smtp_helo(s, 1);
}

/* smtp_mail_cmd - MAIL FROM with its parameters */
static void smtp_mail_cmd(struct smtp_session *s, int downgrade, struct buf *cmd)
{
    const struct smtp_conf *conf = s->conf;
    const struct smtp_msg *m = s->msg;
    const struct smtp_facts *f = s->facts;
    struct buf sender = BUF_INIT;

    if ((conf->masq.classes & MASQ_ENV_SENDER) && *m->sender)
        masq_address(&conf->masq, m->sender, &sender);
    else
        buf_setstr(&sender, m->sender);
    buf_addstr(cmd, "MAIL FROM:<");
    quote_addr(cmd, sender.data);
    buf_addch(cmd, '>');
    if ((s->ehlo.ext & SMTP_EXT_SIZE) && !downgrade)
        buf_printf(cmd, " SIZE=%zu", m->size);
    if (s->ehlo.ext & SMTP_EXT_8BITMIME) {
        if (f->eightbit)
            buf_addstr(cmd, " BODY=8BITMIME");
        else if (f->sevenbit)
            buf_addstr(cmd, " BODY=7BIT");
    }
    if (s->ehlo.ext & SMTP_EXT_DSN) {
        if (m->envid && *m->envid)
            buf_printf(cmd, " ENVID=%s", m->envid);
        if (m->ret && *m->ret)
            buf_printf(cmd, " RET=%s", m->ret);
    }
    if ((s->ehlo.ext & SMTP_EXT_SMTPUTF8) && m->smtputf8)
        buf_addstr(cmd, " SMTPUTF8");
    buf_free(&sender);
}

/* smtp_rcpt_cmd - RCPT TO with its DSN parameters */
static void smtp_rcpt_cmd(struct smtp_session *s, const struct smtp_rcpt *r, struct buf *cmd)
{
    const struct smtp_conf *conf = s->conf;
    struct buf addr = BUF_INIT;

    if (conf->masq.classes & MASQ_ENV_RCPT)
        masq_address(&conf->masq, r->address, &addr);
    else
        buf_setstr(&addr, r->address);
    buf_reset(cmd);
    buf_addstr(cmd, "RCPT TO:<");
    quote_addr(cmd, addr.data);
    buf_addch(cmd, '>');
    if (s->ehlo.ext & SMTP_EXT_DSN) {
        if (r->notify & QUEUE_NOTIFY_NEVER) {
            buf_addstr(cmd, " NOTIFY=NEVER");
        } else if (r->notify) {
            const char *sep = " NOTIFY=";

            if (r->notify & QUEUE_NOTIFY_SUCCESS) {
                buf_addstr(cmd, sep);
                buf_addstr(cmd, "SUCCESS");
                sep = ",";
            }
            if (r->notify & QUEUE_NOTIFY_FAILURE) {
                buf_addstr(cmd, sep);
                buf_addstr(cmd, "FAILURE");
                sep = ",";
            }
            if (r->notify & QUEUE_NOTIFY_DELAY) {
                buf_addstr(cmd, sep);
                buf_addstr(cmd, "DELAY");
            }
        }
        if (r->orcpt)
            buf_printf(cmd, " ORCPT=%s", r->orcpt);
    }
    buf_free(&addr);
}

/* smtp_rcpt_reply - what the server said to one RCPT TO */
static int smtp_rcpt_reply(struct smtp_session *s, struct smtp_rcpt *r, struct buf *text)
{
    if (s->reply.code / 100 == 2) {
        r->accepted = 1;
        return 1;
    }
    buf_reset(text);
    buf_printf(text, "host %s said: ", s->namaddr.data);
    smtp_reply_flat(&s->reply, text);
    buf_addstr(text, " (in reply to RCPT TO command)");
    smtp_rcpt_fail(s, r, s->reply.dsn[0] == '2' ? "4.0.0" : s->reply.dsn, s->relay.data, text->data);
    return 0;
}

/* smtp_transaction - MAIL, RCPT..., DATA, the message; results in the recipients */
static void smtp_transaction(struct smtp_session *s)
{
    const struct smtp_conf *conf = s->conf;
    struct smtp_facts *f = s->facts;
    struct buf cmd = BUF_INIT, text = BUF_INIT, err = BUF_INIT;
    int pipelining = (s->ehlo.ext & SMTP_EXT_PIPELINING) != 0;
    int downgrade, mail_ok = 1, io;
    size_t i, naccepted = 0, nsent = 0, nasked = 0;
    size_t *asked = mem_array(s->n ? s->n : 1, sizeof(*asked)); /* recipients given a RCPT TO */

    smtp_facts_get(s);
    if (f->failed) {
        buf_printf(&text, "cannot read the queue file: %s", f->why.data);
        smtp_fail_all(s, 0, "4.3.0", s->relay.data, text.data);
        /* The next server would fare no better. */
        for (i = 0; i < s->n; i++)
            if (s->rcpts[i].status == SMTP_RCPT_OPEN)
                s->rcpts[i].status = SMTP_RCPT_DEFERRED;
        goto out;
    }
    if (f->utf8 && !(s->ehlo.ext & SMTP_EXT_SMTPUTF8)) {
        buf_printf(&text, "SMTPUTF8 is required, but was not offered by host %s", s->namaddr.data);
        smtp_fail_all(s, 0, s->final ? "5.6.7" : "4.6.7", s->relay.data, text.data);
        goto out;
    }
    /* A server that takes SMTPUTF8 takes 8-bit mail (Postfix does not force compliance here). */
    if (s->ehlo.ext & SMTP_EXT_SMTPUTF8)
        s->ehlo.ext |= SMTP_EXT_8BITMIME;
    if ((s->ehlo.ext & SMTP_EXT_SIZE) && s->ehlo.size > 0 && s->msg->size > s->ehlo.size) {
        buf_printf(&text, "message size %zu exceeds size limit %llu of server %s", s->msg->size, s->ehlo.size,
                   s->namaddr.data);
        smtp_fail_all(s, 0, "5.3.4", s->relay.data, text.data);
        goto out;
    }
    downgrade = conf->mime_conversion && !(s->ehlo.ext & SMTP_EXT_8BITMIME) && !f->sevenbit;

    /* MAIL FROM */
    smtp_mail_cmd(s, downgrade, &cmd);
    if (smtp_send(s, cmd.data, pipelining, conf->mail_timeout, "sending MAIL FROM") != SMTP_IO_OK)
        goto out;
    if (!pipelining) {
        if (smtp_read(s, conf->mail_timeout, "receiving the MAIL FROM response") != SMTP_IO_OK)
            goto out;
        if (s->reply.code / 100 != 2) {
            smtp_said_all(s, 0, "MAIL FROM");
            goto quit;
        }
    }
    /* RCPT TO, each open recipient */
    for (i = 0; i < s->n; i++) {
        struct smtp_rcpt *r = &s->rcpts[i];

        r->accepted = 0;
        if (r->status != SMTP_RCPT_OPEN)
            continue;
        smtp_rcpt_cmd(s, r, &cmd);
        if (smtp_send(s, cmd.data, pipelining, conf->rcpt_timeout, "sending RCPT TO") != SMTP_IO_OK)
            goto out;
        asked[nasked++] = i;
        if (!pipelining) {
            if (smtp_read(s, conf->rcpt_timeout, "receiving the RCPT TO response") != SMTP_IO_OK)
                goto out;
            naccepted += (size_t) smtp_rcpt_reply(s, r, &text);
        }
    }
    if (pipelining) {
        /* DATA goes with the rest; then the replies, in order. */
        if (smtp_send(s, "DATA", 1, conf->data_init_timeout, "sending DATA") != SMTP_IO_OK)
            goto out;
        io = smtp_conn_flush(&s->conn, conf->mail_timeout);
        if (io != SMTP_IO_OK) {
            smtp_io_fail(s, io, "sending MAIL FROM");
            goto out;
        }
        if (smtp_read(s, conf->mail_timeout, "receiving the MAIL FROM response") != SMTP_IO_OK)
            goto out;
        if (s->reply.code / 100 != 2) {
            smtp_said_all(s, 0, "MAIL FROM");
            mail_ok = 0;
        }
        for (i = 0; i < nasked; i++) {
            if (smtp_read(s, conf->rcpt_timeout, "receiving the RCPT TO response") != SMTP_IO_OK)
                goto out;
            /* After a failed MAIL FROM the replies are read and dropped: its failure is theirs. */
            if (mail_ok)
                naccepted += (size_t) smtp_rcpt_reply(s, &s->rcpts[asked[i]], &text);
        }
        if (smtp_read(s, conf->data_init_timeout, "receiving the DATA response") != SMTP_IO_OK)
            goto out;
        if (s->reply.code == 354 && naccepted == 0) {
            /* Nothing to send, yet the server wants it: an empty message ends it. */
            smtp_conn_puts(&s->conn, ".\r\n");
            if (smtp_conn_flush(&s->conn, conf->data_done_timeout) != SMTP_IO_OK ||
                smtp_read(s, conf->data_done_timeout, "receiving the end of data response") != SMTP_IO_OK)
                goto out;
            goto quit;
        }
        if (naccepted == 0)
            goto quit;
        if (s->reply.code != 354) {
            smtp_said_all(s, 1, "DATA");
            goto quit;
        }
    } else {
        if (naccepted == 0)
            goto quit;
        if (smtp_send(s, "DATA", 0, conf->data_init_timeout, "sending DATA") != SMTP_IO_OK ||
            smtp_read(s, conf->data_init_timeout, "receiving the DATA response") != SMTP_IO_OK)
            goto out;
        if (s->reply.code != 354) {
            smtp_said_all(s, 1, "DATA");
            goto quit;
        }
    }
    /* The message. */
    if (downgrade)
        msg_debug("%s: converting 8-bit content for %s (no 8BITMIME)", s->msg->queue_id, s->namaddr.data);
    io = smtp_content_send(&s->conn, conf, s->msg, downgrade, conf->data_xfer_timeout, &err);
    if (io == 1) {
        /* Our side could not read the message: the session cannot be saved. */
        buf_reset(&text);
        buf_printf(&text, "cannot read the queue file: %s", err.data);
        smtp_fail_all(s, 0, "4.3.0", s->relay.data, text.data);
        for (i = 0; i < s->n; i++)
            if (s->rcpts[i].status == SMTP_RCPT_OPEN)
                s->rcpts[i].status = SMTP_RCPT_DEFERRED;
        goto out;
    }
    if (io != SMTP_IO_OK) {
        smtp_io_fail(s, io, "sending message body");
        goto out;
    }
    if (smtp_read(s, conf->data_done_timeout, "sending end of data -- message may be sent more than once") !=
        SMTP_IO_OK)
        goto out;
    if (s->reply.code / 100 != 2) {
        smtp_said_all(s, 1, "end of DATA");
        goto quit;
    }
    buf_reset(&text);
    smtp_reply_flat(&s->reply, &text);
    for (i = 0; i < s->n; i++) {
        struct smtp_rcpt *r = &s->rcpts[i];

        if (r->status != SMTP_RCPT_OPEN || !r->accepted)
            continue;
        r->status = SMTP_RCPT_SENT;
        snprintf(r->dsn, sizeof(r->dsn), "%s", s->reply.dsn);
        buf_setstr(&r->text, text.data);
        buf_setstr(&r->relay, s->relay.data);
        nsent++;
    }
quit:
    /* Best effort: the outcome is already known. */
    smtp_conn_puts(&s->conn, "QUIT\r\n");
    if (smtp_conn_flush(&s->conn, conf->quit_timeout) == SMTP_IO_OK) {
        smtp_reply_reset(&s->reply);
        while (smtp_conn_read_line(&s->conn, &s->line, conf->quit_timeout) == SMTP_IO_OK &&
               smtp_reply_line(&s->reply, s->line.data, s->line.len, &err) == 0)
            ;
    }
out:
    (void) nsent;
    mem_free(asked);
    buf_free(&cmd);
    buf_free(&text);
    buf_free(&err);
}

/* smtp_session - one address: connect, talk, close */
static void smtp_session(struct smtp_session *s)
{
    const struct smtp_conf *conf = s->conf;
    const struct smtp_addr *a = s->addr;
    struct buf err = BUF_INIT, text = BUF_INIT;
    unsigned port = a->sa.ss_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *) &a->sa)->sin6_port)
                                                 : ntohs(((const struct sockaddr_in *) &a->sa)->sin_port);
    int io;

    buf_reset(&s->namaddr);
    buf_reset(&s->relay);
    buf_printf(&s->namaddr, "%s[%s]", a->host, a->text);
    buf_printf(&s->relay, "%s:%u", s->namaddr.data, port);
    s->tls_retry = 0;
    io = smtp_conn_connect(&s->conn, (const struct sockaddr *) &a->sa, a->salen, conf->connect_timeout, &err);
    if (io != SMTP_IO_OK) {
        buf_printf(&text, "connect to %s:%u: %s", s->namaddr.data, port, err.data);
        msg_info("%s", text.data);
        smtp_fail_all(s, 0, "4.4.1", "none", text.data);
        buf_free(&err);
        buf_free(&text);
        return;
    }
    smtp_ehlo_init(&s->ehlo);
    if (smtp_helo(s, 0) == 0 && smtp_starttls(s) == 0)
        smtp_transaction(s);
    smtp_ehlo_free(&s->ehlo);
    smtp_conn_close(&s->conn);
    buf_free(&err);
    buf_free(&text);
}

/* smtp_open - recipients still open */
static size_t smtp_open(const struct smtp_rcpt *rcpts, size_t n)
{
    size_t i, k = 0;

    for (i = 0; i < n; i++)
        if (rcpts[i].status == SMTP_RCPT_OPEN)
            k++;
    return k;
}

/* smtp_deliver - see smtp_proto.h */
void smtp_deliver(const struct smtp_conf *conf, const struct smtp_msg *msg, const char *nexthop,
                  struct smtp_rcpt *rcpts, size_t n)
{
    struct smtp_nexthop nh;
    struct smtp_addr *addrs = NULL;
    struct smtp_facts facts;
    struct smtp_session s;
    struct buf why = BUF_INIT;
    char dsn[16];
    size_t naddr = 0, i, sessions = 0;

    memset(&facts, 0, sizeof(facts));
    buf_init(&facts.why);
    if (smtp_nexthop_parse(nexthop, conf->tcp_port, &nh, &why) < 0) {
        for (i = 0; i < n; i++) {
            rcpts[i].status = SMTP_RCPT_DEFERRED;
            snprintf(rcpts[i].dsn, sizeof(rcpts[i].dsn), "4.3.5");
            buf_setstr(&rcpts[i].text, why.data);
            buf_setstr(&rcpts[i].relay, "none");
        }
        buf_free(&why);
        buf_free(&facts.why);
        return;
    }
    if (smtp_addr_resolve(&conf->addr, &nh, &addrs, &naddr, dsn, sizeof(dsn), &why) < 0) {
        for (i = 0; i < n; i++) {
            rcpts[i].status = dsn[0] == '5' ? SMTP_RCPT_BOUNCED : SMTP_RCPT_DEFERRED;
            snprintf(rcpts[i].dsn, sizeof(rcpts[i].dsn), "%s", dsn);
            buf_setstr(&rcpts[i].text, why.data);
            buf_setstr(&rcpts[i].relay, "none");
        }
        smtp_nexthop_free(&nh);
        buf_free(&why);
        buf_free(&facts.why);
        return;
    }
    memset(&s, 0, sizeof(s));
    s.conf = conf;
    s.msg = msg;
    s.nexthop = nh.host;
    s.facts = &facts;
    s.rcpts = rcpts;
    s.n = n;
    s.conn.fd = -1;
    smtp_reply_init(&s.reply);
    buf_init(&s.namaddr);
    buf_init(&s.relay);
    buf_init(&s.line);
    for (i = 0; i < naddr && smtp_open(rcpts, n) > 0; i++) {
        s.addr = &addrs[i];
        s.best_mx = addrs[i].pref == addrs[0].pref;
        s.plaintext = 0;
        sessions++;
        s.final = i + 1 == naddr || (conf->session_limit && sessions >= conf->session_limit);
        smtp_session(&s);
        if (s.tls_retry && smtp_open(rcpts, n) > 0) {
            /* The handshake failed: the same server once more, in plaintext. */
            s.plaintext = 1;
            smtp_session(&s);
        }
        if (s.final)
            break;
    }
    /* Whatever is still open waits for the next attempt, with its last reason. */
    for (i = 0; i < n; i++) {
        struct smtp_rcpt *r = &rcpts[i];

        if (r->status != SMTP_RCPT_OPEN)
            continue;
        r->status = SMTP_RCPT_DEFERRED;
        if (r->text.len == 0) {
            snprintf(r->dsn, sizeof(r->dsn), "4.4.1");
            buf_printf(&r->text, "no server of %s could be tried", nh.host);
            buf_setstr(&r->relay, "none");
        }
    }
    smtp_reply_free(&s.reply);
    buf_free(&s.namaddr);
    buf_free(&s.relay);
    buf_free(&s.line);
    smtp_addr_free(addrs, naddr);
    smtp_nexthop_free(&nh);
    buf_free(&why);
    buf_free(&facts.why);
}
