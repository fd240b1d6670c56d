/*
 * smtpd_cmd.c - the SMTP commands (RFC 5321, 1869, 1870, 2034, 2920, 3030,
 * 3207, 6152, 6531) with Postfix's replies.
 *
 * Each command checks its syntax and the session state, then, when the
 * hooks have a say (HELO, MAIL, RCPT, DATA, unknown commands), hands over
 * to them with an "after" function that answers the client once they have
 * decided.  Replies are Postfix's words so that clients and log readers
 * see what they are used to.
 *
 * Trusts: nothing from the client; every argument goes through
 * smtpd_parse.c first.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/queue.h"
#include "mta-core/smtpd_server.h"
#include "mta-core/smtpd_session.h"

struct smtpd_cmd {
    const char *name;
    enum smtpd_cmd_id id;
    void (*action)(struct smtpd_session *s);
    int flags;
};

#define CMD_JUNK 1     /* counts toward smtpd_junk_command_limit */
#define CMD_ANYTIME 2  /* allowed after a CONNECT rejection */

/* smtpd_set_protocol - SMTP, ESMTP, ESMTPS, UTF8SMTP(S) for logs, Received: and hooks */
static void smtpd_set_protocol(struct smtpd_session *s, int utf8)
{
    mem_free(s->protocol);
    if (!s->esmtp)
        s->protocol = mem_strdup("SMTP");
    else if (utf8)
        s->protocol = mem_strdup(s->ssl ? "UTF8SMTPS" : "UTF8SMTP");
    else
        s->protocol = mem_strdup(s->ssl ? "ESMTPS" : "ESMTP");
    s->client.protocol = s->protocol;
}

/* smtpd_xact_reset - forget the transaction (no hooks are told: see smtpd_xact_abort) */
void smtpd_xact_reset(struct smtpd_session *s)
{
    if (s->qf) {
        queue_abort(s->qf);
        s->qf = NULL;
    }
    if (s->content_active) {
        smtpd_content_free(&s->content);
        s->content_active = 0;
    }
    smtpd_msg_free(s->msg);
    s->msg = NULL;
    s->ev.msg = NULL;
    mem_free(s->queue_id);
    s->queue_id = NULL;
    s->xact = SMTPD_X_NONE;
    s->discard = 0;
    s->declared_size = 0;
    s->rcpt_tried = 0;
    s->content_action = SMTPD_CONTINUE;
    buf_reset(&s->content_reply);
    s->bdat_failed = 0;
    s->bdat_size = 0;
    smtpd_set_protocol(s, 0);
}

/*
 * smtpd_xact_open - MAIL FROM: the message and its queue file.  The queue
 * id exists from here on (hooks see it in msg->queue_id, milters as the
 * "i" macro) and is the id the message is committed under; a transaction
 * that ends without a commit removes the file (smtpd_xact_reset).  -1
 * when no queue file can be made (the caller answers 451 4.3.0).
 */
static int smtpd_xact_open(struct smtpd_session *s)
{
    struct buf err = BUF_INIT;

    s->qf = queue_create(smtpd_conf->queue_dir, &err);
    if (s->qf == NULL) {
        msg_warn("cannot create a queue file: %s", err.data);
        buf_free(&err);
        return -1;
    }
    buf_free(&err);
    s->msg = smtpd_msg_new(smtpd_conf->queue_dir);
    s->queue_id = mem_strdup(queue_file_id(s->qf));
    s->msg->queue_id = mem_strdup(s->queue_id);
    msg_info("%s: client=%s", s->queue_id, s->namaddr);
    return 0;
}

/* smtpd_abort_done - the hooks heard about the abort; nothing to say to the client */
static void smtpd_abort_done(struct smtpd_session *s)
{
    smtpd_xact_reset(s);
}

/* smtpd_xact_abort - end a transaction without a message: tell the hooks, then forget it */
static void smtpd_xact_abort(struct smtpd_session *s)
{
    if (s->msg == NULL) {
        smtpd_xact_reset(s);
        return;
    }
    memset(&s->ev, 0, sizeof(s->ev));
    smtpd_hooks_start(s, SMTPD_STAGE_ABORT, smtpd_abort_done);
}

/* smtpd_refusal - the hooks refused: log and reply; 1 when they did */
static int smtpd_refusal(struct smtpd_session *s)
{
    const char *label = s->vlabel.data;
    struct buf action = BUF_INIT;

    switch (s->action) {
    case SMTPD_REJECT:
    case SMTPD_TEMPFAIL:
    case SMTPD_SHUTDOWN:
        buf_printf(&action, "%s%sreject", label, *label ? "-" : "");
        smtpd_log_reject(s, action.data, s->vreply.data);
        buf_free(&action);
        smtpd_reply_text(s, s->vreply.data);
        if (s->action == SMTPD_SHUTDOWN)
            smtpd_close(s);
        return 1;
    default:
        return 0;
    }
}

/*
 * smtpd_discarding - a DISCARD verdict: the message will be dropped after
 * it is accepted.  The built-in policy logs its own decision (it knows
 * the key and the table); a milter's is logged here.
 */
static void smtpd_discarding(struct smtpd_session *s)
{
    struct buf action = BUF_INIT;

    if (s->action != SMTPD_DISCARD || s->discard)
        return;
    s->discard = 1;
    if (*s->vlabel.data) {
        buf_printf(&action, "%s-discard", s->vlabel.data);
        smtpd_log_reject(s, action.data, "milter triggers DISCARD action");
        buf_free(&action);
    }
}

/* smtpd_greet - the 220 greeting */
void smtpd_greet(struct smtpd_session *s)
{
    s->cmd = SMTPD_CMD_NONE;
    smtpd_reply(s, "220 %s", smtpd_conf->banner);
}

/* HELO and EHLO ------------------------------------------------------------ */

static void smtpd_ehlo_reply(struct smtpd_session *s)
{
    struct buf r = BUF_INIT;

    buf_printf(&r, "250-%s\r\n250-PIPELINING\r\n", smtpd_conf->myhostname);
    if (smtpd_conf->size_limit)
        buf_printf(&r, "250-SIZE %llu\r\n", smtpd_conf->size_limit);
    else
        buf_addstr(&r, "250-SIZE\r\n");
    if (!smtpd_conf->vrfy_disabled)
        buf_addstr(&r, "250-VRFY\r\n");
    if (smtpd_conf->tls && s->ssl == NULL)
        buf_addstr(&r, "250-STARTTLS\r\n");
    buf_addstr(&r, "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n");
    if (smtpd_conf->smtputf8)
        buf_addstr(&r, "250-SMTPUTF8\r\n");
    buf_addstr(&r, "250 CHUNKING");
    smtpd_reply_text(s, r.data);
    buf_free(&r);
}

static void smtpd_helo_done(struct smtpd_session *s)
{
    if (smtpd_refusal(s))
        return;
    mem_free(s->helo);
    s->helo = mem_strdup(s->ev.arg);
    s->client.helo = s->helo;
    s->esmtp = s->cmd == SMTPD_CMD_EHLO;
    smtpd_set_protocol(s, 0);
    if (s->esmtp)
        smtpd_ehlo_reply(s);
    else
        smtpd_reply(s, "250 %s", smtpd_conf->myhostname);
}

static void smtpd_helo(struct smtpd_session *s)
{
    if (!smtpd_parse_helo(s->args)) {
        smtpd_reply(s, "501 Syntax: %s hostname", s->cmd == SMTPD_CMD_EHLO ? "EHLO" : "HELO");
        return;
    }
    /* HELO/EHLO resets the transaction, as RSET does (RFC 5321 4.1.4). */
    if (s->msg)
        smtpd_xact_reset(s);
    memset(&s->ev, 0, sizeof(s->ev));
    s->ev.arg = s->args;
    smtpd_hooks_start(s, SMTPD_STAGE_HELO, smtpd_helo_done);
}

/* MAIL ---------------------------------------------------------------------- */

static void smtpd_mail_done(struct smtpd_session *s)
{
    if (smtpd_refusal(s)) {
        smtpd_xact_reset(s);
        return;
    }
    smtpd_discarding(s);
    s->xact = SMTPD_X_MAIL;
    smtpd_reply(s, "250 2.1.0 Ok");
}

/* smtpd_esmtp_args - the parameters as an event argument vector */
static void smtpd_esmtp_args(struct smtpd_session *s)
{
    size_t i;

    for (i = 0; i < s->path.nparam; i++)
        s->esmtp_argv[i] = s->path.params[i];
    s->esmtp_argv[i] = NULL;
    s->ev.esmtp_args = (const char *const *) s->esmtp_argv;
}

static void smtpd_mail(struct smtpd_session *s)
{
    unsigned long long size = 0;
    int utf8 = 0, body8 = 0;
    long count;
    size_t i;

    if (smtpd_conf->helo_required && s->helo == NULL) {
        smtpd_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
        return;
    }
    if (s->xact == SMTPD_X_BDAT) {
        smtpd_reply(s, "503 5.5.1 Error: MAIL after BDAT");
        return;
    }
    if (s->msg) {
        smtpd_reply(s, "503 5.5.1 Error: nested MAIL command");
        return;
    }
    if (smtpd_conf->tls_level == SMTPD_TLS_ENCRYPT && s->ssl == NULL) {
        smtpd_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
        return;
    }
    smtpd_path_free(&s->path);
    switch (smtpd_parse_path(s->args, "FROM:", &s->path)) {
    case SMTPD_PARSE_OK:
        break;
    case SMTPD_PARSE_SYNTAX:
        smtpd_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
        return;
    case SMTPD_PARSE_ADDRESS:
        smtpd_reply(s, "501 5.1.7 Bad sender address syntax");
        return;
    case SMTPD_PARSE_PARAM:
        smtpd_reply(s, "501 5.5.4 Bad MAIL parameter syntax");
        return;
    }
    for (i = 0; i < s->path.nparam; i++) {
        const char *p = s->path.params[i], *v;

        if (smtpd_parse_param(p, "SIZE", &v)) {
            if (!smtpd_parse_number(v, (unsigned long long) -1 / 2, &size)) {
                smtpd_reply(s, "501 5.5.4 Bad message size syntax");
                return;
            }
        } else if (smtpd_parse_param(p, "BODY", &v)) {
            if (v && strcasecmp(v, "8BITMIME") == 0) {
                body8 = 1;
            } else if (!v || strcasecmp(v, "7BIT") != 0) {
                smtpd_reply(s, "501 5.5.4 Unsupported BODY parameter value");
                return;
            }
        } else if (smtpd_parse_param(p, "SMTPUTF8", &v) && v == NULL && smtpd_conf->smtputf8) {
            utf8 = 1;
        } else {
            smtpd_reply(s, "555 5.5.4 Unsupported option: %s", p);
            return;
        }
    }
    if (s->path.non_ascii && !utf8) {
        smtpd_reply(s, "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
        return;
    }
    if (smtpd_conf->size_limit && size > smtpd_conf->size_limit) {
        smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
        return;
    }
    if (smtpd_conf->msg_rate_limit > 0 && !s->limits_excepted
        && smtpd_anvil_event(s->addr, SMTPD_ANVIL_MSG, smtpd_conf->msg_rate_limit, &count)) {
        msg_warn("Message delivery request rate limit exceeded: %ld from %s for service smtp",
                 count, s->namaddr);
        smtpd_reply(s, "450 4.7.1 Error: too much mail from %s", s->addr);
        return;
    }
    if (s->denied.len) {
        smtpd_reply_text(s, s->denied.data);
        return;
    }
    if (smtpd_xact_open(s) < 0) {
        smtpd_reply(s, "451 4.3.0 Error: queue file write error");
        return;
    }
    smtpd_msg_set_sender(s->msg, s->path.addr.data, s->path.args.data);
    s->msg->smtputf8 = utf8;
    s->msg->body_8bit = body8;
    s->declared_size = size;
    smtpd_set_protocol(s, utf8);
    memset(&s->ev, 0, sizeof(s->ev));
    s->ev.arg = s->msg->sender;
    smtpd_esmtp_args(s);
    smtpd_hooks_start(s, SMTPD_STAGE_MAIL, smtpd_mail_done);
}

/* RCPT ---------------------------------------------------------------------- */

static void smtpd_rcpt_done(struct smtpd_session *s)
{
    if (smtpd_refusal(s))
        return;
    smtpd_discarding(s);
    smtpd_msg_add_rcpt(s->msg, s->path.addr.data, s->path.args.data);
    smtpd_reply(s, "250 2.1.5 Ok");
}

static void smtpd_rcpt(struct smtpd_session *s)
{
    long count;

    if (s->msg == NULL) {
        smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
        return;
    }
    if (s->xact == SMTPD_X_BDAT) {
        smtpd_reply(s, "503 5.5.1 Error: RCPT after BDAT");
        return;
    }
    smtpd_path_free(&s->path);
    switch (smtpd_parse_path(s->args, "TO:", &s->path)) {
    case SMTPD_PARSE_OK:
        break;
    case SMTPD_PARSE_SYNTAX:
        smtpd_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
        return;
    case SMTPD_PARSE_ADDRESS:
        smtpd_reply(s, "501 5.1.3 Bad recipient address syntax");
        return;
    case SMTPD_PARSE_PARAM:
        smtpd_reply(s, "501 5.5.4 Bad RCPT parameter syntax");
        return;
    }
    if (s->path.addr.len == 0) {
        smtpd_reply(s, "501 5.1.3 Bad recipient address syntax");
        return;
    }
    if (s->path.nparam > 0) {
        smtpd_reply(s, "555 5.5.4 Unsupported option: %s", s->path.params[0]);
        return;
    }
    if (s->path.non_ascii && !s->msg->smtputf8) {
        smtpd_reply(s, "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
        return;
    }
    if (s->msg->nrcpt >= (size_t) smtpd_conf->rcpt_limit) {
        smtpd_reply(s, "452 4.5.3 Error: too many recipients");
        return;
    }
    if (smtpd_conf->rcpt_rate_limit > 0 && !s->limits_excepted
        && smtpd_anvil_event(s->addr, SMTPD_ANVIL_RCPT, smtpd_conf->rcpt_rate_limit, &count)) {
        msg_warn("Recipient address rate limit exceeded: %ld from %s for service smtp",
                 count, s->namaddr);
        smtpd_reply(s, "450 4.7.1 Error: too many recipients from %s", s->addr);
        return;
    }
    s->rcpt_tried++;
    memset(&s->ev, 0, sizeof(s->ev));
    s->ev.arg = s->path.addr.data;
    smtpd_esmtp_args(s);
    smtpd_hooks_start(s, SMTPD_STAGE_RCPT, smtpd_rcpt_done);
}

/* DATA ---------------------------------------------------------------------- */

static void smtpd_data(struct smtpd_session *s)
{
    if (*s->args) {
        smtpd_reply(s, "501 5.5.4 Syntax: DATA");
        return;
    }
    if (s->xact == SMTPD_X_BDAT) {
        smtpd_reply(s, "503 5.5.1 Error: DATA after BDAT");
        return;
    }
    if (s->msg == NULL || s->msg->nrcpt == 0) {
        smtpd_reply(s, s->msg && s->rcpt_tried ? "554 5.5.1 Error: no valid recipients"
                                               : "503 5.5.1 Error: need RCPT command");
        return;
    }
    smtpd_data_begin(s);
}

/* RSET, NOOP, QUIT, VRFY, HELP --------------------------------------------- */

static void smtpd_rset(struct smtpd_session *s)
{
    if (*s->args) {
        smtpd_reply(s, "501 5.5.4 Syntax: RSET");
        return;
    }
    smtpd_reply(s, "250 2.0.0 Ok");
    smtpd_xact_abort(s);
}

static void smtpd_noop(struct smtpd_session *s)
{
    /* RFC 5321 4.1.1.9: a parameter, if any, is ignored. */
    smtpd_reply(s, "250 2.0.0 Ok");
}

static void smtpd_quit(struct smtpd_session *s)
{
    smtpd_reply(s, "221 2.0.0 Bye");
    smtpd_close(s);
}

static void smtpd_vrfy(struct smtpd_session *s)
{
    if (smtpd_conf->vrfy_disabled) {
        smtpd_reply(s, "502 5.5.1 VRFY command is disabled");
        return;
    }
    if (*s->args == 0) {
        smtpd_reply(s, "501 5.5.4 Syntax: VRFY address");
        return;
    }
    /* RFC 5321 3.5.3: 252, we will accept the message and try to deliver it. */
    smtpd_reply(s, "252 2.0.0 %s", s->args);
}

static void smtpd_help(struct smtpd_session *s)
{
    smtpd_reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP%s",
                smtpd_conf->tls ? " STARTTLS" : "");
}

/* STARTTLS ------------------------------------------------------------------ */

static void smtpd_starttls(struct smtpd_session *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    struct bufferevent *tls;

    if (*s->args) {
        smtpd_reply(s, "501 5.5.4 Syntax: STARTTLS");
        return;
    }
    if (s->ssl) {
        smtpd_reply(s, "554 5.5.1 Error: TLS already active");
        return;
    }
    if (smtpd_conf->tls == NULL) {
        smtpd_reply(s, "502 5.5.1 Error: command not implemented");
        return;
    }
    if (s->msg) {
        smtpd_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
        return;
    }
    if ((s->ssl = SSL_new(smtpd_conf->tls)) == NULL) {
        msg_warn("cannot start TLS for %s: SSL_new failed", s->namaddr);
        smtpd_reply(s, "454 4.7.0 TLS not available due to local problem");
        return;
    }
    /* Commands pipelined after STARTTLS were sent in the clear: never act on them. */
    if (evbuffer_get_length(in) > 0) {
        msg_warn("%s: discarding %zu bytes pipelined after STARTTLS", s->namaddr,
                 evbuffer_get_length(in));
        evbuffer_drain(in, evbuffer_get_length(in));
    }
    smtpd_reply(s, "220 2.0.0 Ready to start TLS");
    tls = bufferevent_openssl_filter_new(smtpd_conf->base, s->bev, s->ssl,
                                         BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (tls == NULL) {
        msg_warn("cannot start TLS for %s: bufferevent_openssl_filter_new failed", s->namaddr);
        SSL_free(s->ssl);
        s->ssl = NULL;
        smtpd_close(s);
        return;
    }
    s->state = SMTPD_ST_TLS;
    smtpd_set_bev(s, tls);
}

/*
 * smtpd_tls_done - the handshake succeeded: the session starts over
 * (RFC 3207 4.2: forget HELO and everything else), now encrypted.
 */
void smtpd_tls_done(struct smtpd_session *s)
{
    const SSL_CIPHER *cipher = SSL_get_current_cipher(s->ssl);
    int alg = 0;

    mem_free(s->tls_version);
    mem_free(s->tls_cipher);
    s->tls_version = mem_strdup(SSL_get_version(s->ssl));
    s->tls_cipher = mem_strdup(cipher ? SSL_CIPHER_get_name(cipher) : "unknown");
    s->client.tls_version = s->tls_version;
    s->client.tls_cipher = s->tls_cipher;
    s->client.tls_bits = cipher ? SSL_CIPHER_get_bits(cipher, &alg) : 0;
    msg_info("Anonymous TLS connection established from %s: %s with cipher %s (%d/%d bits)",
             s->namaddr, s->tls_version, s->tls_cipher, s->client.tls_bits, alg);
    mem_free(s->helo);
    s->helo = NULL;
    s->client.helo = NULL;
    s->esmtp = 0;
    smtpd_xact_reset(s);
    s->state = SMTPD_ST_COMMAND;
}

/* Unknown commands ---------------------------------------------------------- */

static void smtpd_unknown_done(struct smtpd_session *s)
{
    if (smtpd_refusal(s))
        return;
    smtpd_reply(s, "502 5.5.2 Error: command not recognized");
}

/* smtpd_forbidden - a command that says the client is not speaking SMTP at all */
static int smtpd_forbidden(const struct smtpd_session *s, size_t vlen)
{
    char **f;

    if (s->line.len > 0 && !isalpha((unsigned char) s->line.data[0]))
        return 1; /* Postfix: regexp:{{/^[^A-Z]/ Thrash}} */
    for (f = smtpd_conf->forbidden; f && *f; f++)
        if (strlen(*f) == vlen && strncasecmp(*f, s->line.data, vlen) == 0)
            return 1;
    return 0;
}

static void smtpd_unknown(struct smtpd_session *s)
{
    memset(&s->ev, 0, sizeof(s->ev));
    s->ev.arg = s->line.data;
    smtpd_hooks_start(s, SMTPD_STAGE_UNKNOWN, smtpd_unknown_done);
}

static const struct smtpd_cmd smtpd_cmds[] = {
    { "HELO", SMTPD_CMD_HELO, smtpd_helo, CMD_ANYTIME },
    { "EHLO", SMTPD_CMD_EHLO, smtpd_helo, CMD_ANYTIME },
    { "STARTTLS", SMTPD_CMD_STARTTLS, smtpd_starttls, 0 },
    { "MAIL", SMTPD_CMD_MAIL, smtpd_mail, 0 },
    { "RCPT", SMTPD_CMD_RCPT, smtpd_rcpt, 0 },
    { "DATA", SMTPD_CMD_DATA, smtpd_data, 0 },
    { "BDAT", SMTPD_CMD_BDAT, smtpd_bdat, 0 },
    { "RSET", SMTPD_CMD_RSET, smtpd_rset, CMD_JUNK | CMD_ANYTIME },
    { "NOOP", SMTPD_CMD_NOOP, smtpd_noop, CMD_JUNK | CMD_ANYTIME },
    { "VRFY", SMTPD_CMD_VRFY, smtpd_vrfy, CMD_JUNK },
    { "HELP", SMTPD_CMD_HELP, smtpd_help, CMD_JUNK | CMD_ANYTIME },
    { "QUIT", SMTPD_CMD_QUIT, smtpd_quit, CMD_ANYTIME },
    { NULL, SMTPD_CMD_UNKNOWN, NULL, 0 },
};

/*
 * smtpd_command - one command line (in s->line): limits first, then the
 * command's own checks.
 */
void smtpd_command(struct smtpd_session *s)
{
    const struct smtpd_cmd *c;
    size_t vlen;

    s->cmd = SMTPD_CMD_NONE;
    s->counted_final = 0;
    if (s->error_count >= smtpd_conf->hard_error_limit) {
        msg_info("too many errors after %s from %s", s->where, s->namaddr);
        smtpd_reply(s, "421 4.7.0 %s Error: too many errors", smtpd_conf->myhostname);
        smtpd_close(s);
        return;
    }
    if (s->line.len == 0 || memchr(s->line.data, 0, s->line.len)) {
        smtpd_reply(s, "500 5.5.2 Error: bad syntax");
        return;
    }
    if (!smtpd_utf8_valid(s->line.data, s->line.len)) {
        smtpd_reply(s, "500 5.5.2 Error: bad UTF-8 syntax");
        return;
    }
    vlen = smtpd_parse_verb(s->line.data, s->line.len);
    if (smtpd_forbidden(s, vlen)) {
        msg_warn("non-SMTP command from %s: %.100s", s->namaddr, s->line.data);
        smtpd_reply(s, "221 2.7.0 Error: I can break rules, too. Goodbye.");
        smtpd_close(s);
        return;
    }
    for (c = smtpd_cmds; c->name; c++)
        if (strlen(c->name) == vlen && strncasecmp(c->name, s->line.data, vlen) == 0
            && (s->line.data[vlen] == 0 || s->line.data[vlen] == ' '))
            break;
    s->cmd = c->id;
    s->counts[c->id][0]++;
    s->args = s->line.data + vlen + (s->line.data[vlen] == ' ');
    if (c->name == NULL) {
        s->where = "UNKNOWN";
        smtpd_unknown(s);
        return;
    }
    s->where = c->name;
    if ((c->flags & CMD_JUNK) && ++s->junk_count > smtpd_conf->junk_limit)
        s->error_count++;
    if (s->denied.len && !(c->flags & CMD_ANYTIME) && c->id != SMTPD_CMD_BDAT) {
        smtpd_reply_text(s, s->denied.data);
        return;
    }
    c->action(s);
}
