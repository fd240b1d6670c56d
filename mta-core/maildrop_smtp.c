/*
 * maildrop_smtp.c - "mta-sendmail -bs": SMTP on standard input and output,
 * for programs that submit mail that way (as with Sendmail and Postfix).
 * Each message is dropped into the maildrop like any other submission,
 * as the user who ran the command.
 *
 * Commands: HELO, EHLO, MAIL FROM (BODY= and SIZE= understood), RCPT TO
 * (NOTIFY= understood), DATA, RSET, NOOP, VRFY (252), HELP, QUIT.  Lines
 * may end in CRLF or LF: this is a local pipe, not the network (the
 * network's SMTP server, with its strict rules, is smtpd).
 *
 * Trusts: nothing on standard input; commands longer than
 * MAILDROP_SMTP_LINE_MAX are refused, addresses parsed by smtpd_parse.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "libmatch/config.h"
#include "libmatch/mem.h"
#include "mta-core/maildrop.h"
#include "mta-core/queue.h"
#include "mta-core/smtpd_parse.h"

#define MAILDROP_SMTP_LINE_MAX 2048 /* bytes in a command line */

/* maildrop_smtp_reply - one reply line */
static void maildrop_smtp_reply(FILE *out, const char *text)
{
    fprintf(out, "%s\r\n", text);
    fflush(out);
}

/* maildrop_smtp_read - one line without its end; 0 at the end of input */
static int maildrop_smtp_read(FILE *in, char **line, size_t *cap, size_t *len)
{
    ssize_t got = getline(line, cap, in);

    if (got <= 0)
        return 0;
    *len = (size_t) got;
    if (*len && (*line)[*len - 1] == '\n')
        (*line)[--*len] = 0;
    if (*len && (*line)[*len - 1] == '\r')
        (*line)[--*len] = 0;
    return 1;
}

/* maildrop_smtp_notify - a NOTIFY= value, or -1 */
static int maildrop_smtp_notify(const char *v)
{
    int flags = 0;

    while (*v) {
        size_t n = strcspn(v, ",");

        if (n == 5 && strncasecmp(v, "NEVER", 5) == 0)
            flags |= QUEUE_NOTIFY_NEVER;
        else if (n == 7 && strncasecmp(v, "SUCCESS", 7) == 0)
            flags |= QUEUE_NOTIFY_SUCCESS;
        else if (n == 7 && strncasecmp(v, "FAILURE", 7) == 0)
            flags |= QUEUE_NOTIFY_FAILURE;
        else if (n == 5 && strncasecmp(v, "DELAY", 5) == 0)
            flags |= QUEUE_NOTIFY_DELAY;
        else
            return -1;
        v += n;
        if (*v == ',')
            v++;
    }
    return (flags & QUEUE_NOTIFY_NEVER) && flags != QUEUE_NOTIFY_NEVER ? -1 : flags;
}

/* maildrop_smtp - see maildrop.h */
int maildrop_smtp(struct config *cfg, uid_t uid, FILE *in, FILE *out)
{
    char *host = mem_strdup(config_get(cfg, "myhostname"));
    struct maildrop_sub sub;
    struct smtpd_path path;
    struct buf reply = BUF_INIT, err = BUF_INIT;
    char *line = NULL;
    size_t cap = 0, len;
    int have_mail = 0, notify = 0;
    long limit = 0;
    char id[QUEUE_ID_SIZE];

    config_get_int(cfg, "message_size_limit", 0, 0x7fffffffL, &limit, &err);
    buf_reset(&err);
    maildrop_sub_init(&sub, cfg);
    sub.uid = uid;
    smtpd_path_init(&path);
    buf_printf(&reply, "220 %s ESMTP ", host);
    buf_addstr(&reply, config_get(cfg, "mail_name"));
    maildrop_smtp_reply(out, reply.data);
    while (maildrop_smtp_read(in, &line, &cap, &len)) {
        size_t vlen = smtpd_parse_verb(line, len);
        const char *arg = line + vlen;

        while (*arg == ' ')
            arg++;
        buf_reset(&reply);
        if (len > MAILDROP_SMTP_LINE_MAX) {
            maildrop_smtp_reply(out, "500 5.5.0 Error: line too long");
        } else if (vlen == 4 && strncasecmp(line, "HELO", 4) == 0) {
            buf_printf(&reply, "250 %s", host);
            maildrop_smtp_reply(out, reply.data);
        } else if (vlen == 4 && strncasecmp(line, "EHLO", 4) == 0) {
            buf_printf(&reply, "250-%s\r\n250-PIPELINING\r\n250-SIZE %ld\r\n250-8BITMIME\r\n250-DSN\r\n"
                       "250 ENHANCEDSTATUSCODES",
                       host, limit);
            maildrop_smtp_reply(out, reply.data);
        } else if (vlen == 4 && strncasecmp(line, "MAIL", 4) == 0) {
            const char *v;
            size_t i;

            smtpd_path_free(&path);
            if (have_mail) {
                maildrop_smtp_reply(out, "503 5.5.1 Error: nested MAIL command");
                continue;
            }
            if (smtpd_parse_path(arg, "FROM:", &path) != SMTPD_PARSE_OK) {
                maildrop_smtp_reply(out, "501 5.5.4 Syntax: MAIL FROM:<address>");
                continue;
            }
            maildrop_sub_free(&sub);
            maildrop_sub_init(&sub, cfg);
            sub.uid = uid;
            sub.dot_ends = 0;
            sub.sender = mem_strdup(path.addr.data);
            for (i = 0; i < path.nparam; i++) {
                if (smtpd_parse_param(path.params[i], "BODY", &v) &&
                    (strcasecmp(v, "8BITMIME") == 0 || strcasecmp(v, "7BIT") == 0))
                    sub.body = mem_strdup(v);
                else if (smtpd_parse_param(path.params[i], "RET", &v))
                    sub.ret = mem_strdup(v);
                else if (smtpd_parse_param(path.params[i], "ENVID", &v))
                    sub.envid = mem_strdup(v);
            }
            have_mail = 1;
            maildrop_smtp_reply(out, "250 2.1.0 Ok");
        } else if (vlen == 4 && strncasecmp(line, "RCPT", 4) == 0) {
            const char *v;
            size_t i;

            smtpd_path_free(&path);
            if (!have_mail) {
                maildrop_smtp_reply(out, "503 5.5.1 Error: need MAIL command");
                continue;
            }
            if (smtpd_parse_path(arg, "TO:", &path) != SMTPD_PARSE_OK || path.addr.len == 0) {
                maildrop_smtp_reply(out, "501 5.5.4 Syntax: RCPT TO:<address>");
                continue;
            }
            notify = 0;
            for (i = 0; i < path.nparam; i++)
                if (smtpd_parse_param(path.params[i], "NOTIFY", &v))
                    notify = maildrop_smtp_notify(v);
            if (notify < 0) {
                maildrop_smtp_reply(out, "501 5.5.4 Error: bad NOTIFY parameter");
                continue;
            }
            /* One NOTIFY for the message: the maildrop keeps what the last recipient asked. */
            sub.notify = notify;
            sub.rcpts = mem_realloc_array(sub.rcpts, sub.nrcpt + 1, sizeof(*sub.rcpts));
            sub.rcpts[sub.nrcpt++] = mem_strdup(path.addr.data);
            maildrop_smtp_reply(out, "250 2.1.5 Ok");
        } else if (vlen == 4 && strncasecmp(line, "DATA", 4) == 0) {
            FILE *tmp;
            int rc, ended = 0;

            if (!have_mail) {
                maildrop_smtp_reply(out, "503 5.5.1 Error: need MAIL command");
                continue;
            }
            if (sub.nrcpt == 0) {
                maildrop_smtp_reply(out, "554 5.5.1 Error: no valid recipients");
                continue;
            }
            if ((tmp = tmpfile()) == NULL) {
                maildrop_smtp_reply(out, "451 4.3.0 Error: cannot create a temporary file");
                continue;
            }
            maildrop_smtp_reply(out, "354 End data with <CR><LF>.<CR><LF>");
            while (maildrop_smtp_read(in, &line, &cap, &len)) {
                if (len == 1 && line[0] == '.') {
                    ended = 1;
                    break;
                }
                /* Undo dot-stuffing. */
                fwrite(line + (line[0] == '.'), 1, len - (line[0] == '.'), tmp);
                fputc('\n', tmp);
            }
            if (!ended) {
                fclose(tmp);
                break; /* the input ended inside DATA: nothing was accepted */
            }
            if (fflush(tmp) == EOF || ferror(tmp)) {
                fclose(tmp);
                maildrop_smtp_reply(out, "451 4.3.0 Error: temporary file write error");
            } else {
                rewind(tmp);
                buf_reset(&err);
                rc = maildrop_submit(&sub, tmp, id, &err);
                fclose(tmp);
                if (rc == EX_OK)
                    buf_printf(&reply, "250 2.0.0 Ok: queued as %s", id);
                else if (rc == EX_DATAERR)
                    buf_printf(&reply, "552 5.3.4 Error: %s", err.data);
                else
                    buf_printf(&reply, "451 4.3.0 Error: %s", err.data);
                maildrop_smtp_reply(out, reply.data);
            }
            maildrop_sub_free(&sub);
            maildrop_sub_init(&sub, cfg);
            sub.uid = uid;
            have_mail = 0;
        } else if (vlen == 4 && strncasecmp(line, "RSET", 4) == 0) {
            maildrop_sub_free(&sub);
            maildrop_sub_init(&sub, cfg);
            sub.uid = uid;
            have_mail = 0;
            maildrop_smtp_reply(out, "250 2.0.0 Ok");
        } else if (vlen == 4 && strncasecmp(line, "NOOP", 4) == 0) {
            maildrop_smtp_reply(out, "250 2.0.0 Ok");
        } else if (vlen == 4 && strncasecmp(line, "VRFY", 4) == 0) {
            maildrop_smtp_reply(out, "252 2.0.0 Send mail and see");
        } else if (vlen == 4 && strncasecmp(line, "HELP", 4) == 0) {
            maildrop_smtp_reply(out, "214 2.0.0 HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT");
        } else if (vlen == 4 && strncasecmp(line, "QUIT", 4) == 0) {
            maildrop_smtp_reply(out, "221 2.0.0 Bye");
            break;
        } else {
            maildrop_smtp_reply(out, "502 5.5.2 Error: command not recognized");
        }
    }
    smtpd_path_free(&path);
    maildrop_sub_free(&sub);
    mem_free(host);
    buf_free(&reply);
    buf_free(&err);
    free(line);
    return EX_OK;
}
