/*
 * maildrop_submit.c - the submission side of the maildrop: one message
 * from standard input into maildrop/incoming/ (see maildrop.h), as
 * Postfix's sendmail and postdrop do it:
 *
 *   - leading "From " (and ">From ") lines are dropped;
 *   - without -i, a line with a single "." ends the message;
 *   - CRLF line ends become LF (queue_write does that);
 *   - with -t, the recipients of To:, Cc: and Bcc: are added to those of
 *     the command line (Resent-To:, Resent-Cc: and Resent-Bcc: instead
 *     when the message has Resent- headers);
 *   - a message larger than message_size_limit is refused (EX_DATAERR),
 *     one without recipients too (EX_USAGE).
 *
 * The header is otherwise left alone: the daemon's pickup completes it.
 * Trusts: the configuration; standard input and the command line are
 * the user's and are checked (addresses, sizes).
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "libmatch/config.h"
#include "libmatch/header.h"
#include "libmatch/mem.h"
#include "mta-core/maildrop.h"
#include "mta-core/masq_addr.h"
#include "mta-core/queue.h"

#define MAILDROP_HEADER_MAX 102400 /* bytes of one logical header looked at for -t */

/* maildrop_root - "$queue_directory/maildrop" */
void maildrop_root(struct buf *out, const char *queue_dir)
{
    buf_reset(out);
    buf_printf(out, "%s/%s", queue_dir, MAILDROP_DIR);
}

/* maildrop_sub_init - a submission with nothing set */
void maildrop_sub_init(struct maildrop_sub *s, struct config *cfg)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->dot_ends = 1;
    s->uid = getuid();
}

/* maildrop_sub_free - release it */
void maildrop_sub_free(struct maildrop_sub *s)
{
    size_t i;

    for (i = 0; i < s->nrcpt; i++)
        mem_free(s->rcpts[i]);
    mem_free(s->rcpts);
    mem_free(s->sender);
    mem_free(s->full_name);
    mem_free(s->ret);
    mem_free(s->envid);
    mem_free(s->body);
    memset(s, 0, sizeof(*s));
}

/* maildrop_add_one - one extracted address */
static void maildrop_add_one(void *ctx, const char *addr)
{
    struct maildrop_sub *s = ctx;

    s->rcpts = mem_realloc_array(s->rcpts, s->nrcpt + 1, sizeof(*s->rcpts));
    s->rcpts[s->nrcpt++] = mem_strdup(addr);
}

/* maildrop_sub_rcpt - recipients from the command line: each argument may be a list ("a, b") */
void maildrop_sub_rcpt(struct maildrop_sub *s, const char *arg)
{
    struct buf h = BUF_INIT;

    buf_printf(&h, "To: %s", arg);
    masq_extract(h.data, h.len, maildrop_add_one, s);
    buf_free(&h);
}

/* maildrop_addr_ok - an address we are willing to queue */
static int maildrop_addr_ok(const char *addr)
{
    const unsigned char *p;

    if (strlen(addr) > MAILDROP_ADDR_MAX)
        return 0;
    for (p = (const unsigned char *) addr; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* The -t state: recipients from the primary header. */
struct maildrop_xtract {
    struct maildrop_sub *s;
    char **plain, **resent;
    size_t nplain, nresent;
    int resent_seen;
};

static void maildrop_x_plain(void *ctx, const char *addr)
{
    struct maildrop_xtract *x = ctx;

    x->plain = mem_realloc_array(x->plain, x->nplain + 1, sizeof(*x->plain));
    x->plain[x->nplain++] = mem_strdup(addr);
}

static void maildrop_x_resent(void *ctx, const char *addr)
{
    struct maildrop_xtract *x = ctx;

    x->resent = mem_realloc_array(x->resent, x->nresent + 1, sizeof(*x->resent));
    x->resent[x->nresent++] = mem_strdup(addr);
}

/* maildrop_x_header - one logical header of the primary block */
static void maildrop_x_header(struct maildrop_xtract *x, const char *h, size_t len)
{
    const char *colon = memchr(h, ':', len);
    size_t n;

    if (colon == NULL)
        return;
    for (n = (size_t) (colon - h); n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'); n--)
        ;
    if (n > 7 && strncasecmp(h, "Resent-", 7) == 0) {
        x->resent_seen = 1;
        if ((n == 9 && strncasecmp(h, "Resent-To", 9) == 0) || (n == 9 && strncasecmp(h, "Resent-Cc", 9) == 0) ||
            (n == 10 && strncasecmp(h, "Resent-Bcc", 10) == 0))
            masq_extract(h, len, maildrop_x_resent, x);
    } else if ((n == 2 && strncasecmp(h, "To", 2) == 0) || (n == 2 && strncasecmp(h, "Cc", 2) == 0) ||
               (n == 3 && strncasecmp(h, "Bcc", 3) == 0)) {
        masq_extract(h, len, maildrop_x_plain, x);
    }
}

/* maildrop_login - the login name of the real user */
static char *maildrop_login(uid_t uid)
{
    struct passwd *pw = getpwuid(uid);

    return pw ? mem_strdup(pw->pw_name) : NULL;
}

/* maildrop_submit - see maildrop.h */
int maildrop_submit(struct maildrop_sub *s, FILE *in, char *id, struct buf *err)
{
    struct maildrop_xtract x;
    struct buf root = BUF_INIT, hdr = BUF_INIT;
    struct queue_file *qf;
    char *line = NULL, *sender;
    size_t cap = 0, size = 0, i;
    ssize_t got;
    long limit = 0;
    int skip_from = 1, in_header = 1, have_hdr = 0, rc = EX_OK;

    memset(&x, 0, sizeof(x));
    x.s = s;
    if (config_get_int(s->cfg, "message_size_limit", 0, 0x7fffffffL, &limit, err) < 0)
        return EX_CONFIG;
    if (s->sender)
        sender = mem_strdup(s->sender);
    else if ((sender = maildrop_login(s->uid)) == NULL) {
        buf_printf(err, "no login name found for user ID %lu", (unsigned long) s->uid);
        return EX_OSERR;
    }
    /* "<address>" and "<>" as sendmail users write them. */
    if (strlen(sender) >= 2 && sender[0] == '<' && sender[strlen(sender) - 1] == '>') {
        memmove(sender, sender + 1, strlen(sender));
        sender[strlen(sender) - 1] = 0;
    }
    if (!maildrop_addr_ok(sender)) {
        buf_printf(err, "bad sender address");
        mem_free(sender);
        return EX_DATAERR;
    }
    maildrop_root(&root, config_get(s->cfg, "queue_directory"));
    qf = queue_create(root.data, err);
    if (qf == NULL) {
        mem_free(sender);
        buf_free(&root);
        return EX_TEMPFAIL;
    }
    snprintf(id, QUEUE_ID_SIZE, "%s", queue_file_id(qf));
    {
        /* Readable by the daemon's group (the directory gives the file that group), nobody else. */
        off_t start, end;
        int fd = queue_content_fd(qf, &start, &end);

        if (fd < 0 || fchmod(fd, 0640) < 0) {
            buf_printf(err, "cannot make the maildrop file readable by the daemon: %s", strerror(errno));
            queue_abort(qf);
            mem_free(sender);
            buf_free(&root);
            return EX_TEMPFAIL;
        }
    }
    queue_set_sender(qf, sender);
    if (s->full_name) {
        struct buf fn = BUF_INIT;
        const char *p;

        for (p = s->full_name; *p; p++)
            buf_addch(&fn, (unsigned char) *p < 0x20 || *p == 0x7f ? ' ' : *p);
        queue_add_attr(qf, "full_name", fn.data);
        buf_free(&fn);
    }
    if (s->body)
        queue_add_sender_param(qf, "BODY", s->body);
    if (s->ret)
        queue_add_sender_param(qf, "RET", s->ret);
    if (s->envid)
        queue_add_sender_param(qf, "ENVID", s->envid);
    while ((got = getline(&line, &cap, in)) > 0) {
        size_t len = (size_t) got;
        int eol = line[len - 1] == '\n';
        size_t text = len - (size_t) eol;

        if (eol && text > 0 && line[text - 1] == '\r')
            text--;
        if (skip_from) {
            size_t k = strspn(line, ">");

            if (strncmp(line + k, "From ", 5) == 0)
                continue;
            skip_from = 0;
        }
        if (s->dot_ends && text == 1 && line[0] == '.')
            break;
        size += text + 1;
        if (limit > 0 && size > (size_t) limit) {
            buf_printf(err, "message file too big");
            rc = EX_DATAERR;
            goto out;
        }
        if (in_header && s->extract) {
            if (have_hdr && text > 0 && (line[0] == ' ' || line[0] == '\t')) {
                if (hdr.len + text < MAILDROP_HEADER_MAX) {
                    buf_addch(&hdr, '\n');
                    buf_add(&hdr, line, text);
                }
            } else {
                if (have_hdr)
                    maildrop_x_header(&x, hdr.data, hdr.len);
                have_hdr = 0;
                if (header_label_len(line, text)) {
                    buf_set(&hdr, line, text < MAILDROP_HEADER_MAX ? text : MAILDROP_HEADER_MAX);
                    have_hdr = 1;
                } else {
                    in_header = 0;
                }
            }
        }
        queue_write(qf, line, len);
    }
    if (ferror(in)) {
        buf_printf(err, "error reading input: %s", strerror(errno));
        rc = EX_DATAERR;
        goto out;
    }
    if (in_header && have_hdr)
        maildrop_x_header(&x, hdr.data, hdr.len);
    if (x.resent_seen) {
        for (i = 0; i < x.nresent; i++)
            maildrop_add_one(s, x.resent[i]);
    } else {
        for (i = 0; i < x.nplain; i++)
            maildrop_add_one(s, x.plain[i]);
    }
    if (s->nrcpt == 0) {
        buf_printf(err, "%s", s->extract ? "No recipient addresses found in message header"
                                         : "Recipient addresses must be specified on the command line or via the -t option");
        rc = EX_USAGE;
        goto out;
    }
    if (s->nrcpt > MAILDROP_RCPT_MAX) {
        buf_printf(err, "too many recipients (at most %d)", MAILDROP_RCPT_MAX);
        rc = EX_USAGE;
        goto out;
    }
    for (i = 0; i < s->nrcpt; i++) {
        if (!maildrop_addr_ok(s->rcpts[i]) || *s->rcpts[i] == 0) {
            buf_printf(err, "bad recipient address \"%.100s\"", s->rcpts[i]);
            rc = EX_DATAERR;
            goto out;
        }
        queue_add_rcpt(qf, s->rcpts[i], s->notify, "");
    }
    if (queue_commit(qf, err) < 0) {
        qf = NULL;
        rc = EX_TEMPFAIL;
        goto out;
    }
    qf = NULL;
out:
    if (qf)
        queue_abort(qf);
    for (i = 0; i < x.nplain; i++)
        mem_free(x.plain[i]);
    for (i = 0; i < x.nresent; i++)
        mem_free(x.resent[i]);
    mem_free(x.plain);
    mem_free(x.resent);
    free(line);
    mem_free(sender);
    buf_free(&root);
    buf_free(&hdr);
    return rc;
}
