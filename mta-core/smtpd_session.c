/*
 * smtpd_session.c - one SMTP client: I/O on a libevent bufferevent, the
 * input loop, replies, hooks, timeouts, the session's life and its log.
 *
 * The input loop (smtpd_drive) takes whole command lines or content
 * bytes from the input buffer while the state wants input and nothing
 * holds the session (a hook deciding, an error sleep, a TLS handshake).
 * Replies go straight to the output buffer; libevent writes them when
 * the loop returns, so replies to pipelined commands leave together.
 *
 * Command lines must end in CRLF: a bare LF or a bare CR is answered with
 * "550 5.5.2 <host> Error: bare <LF> received" and the connection is
 * closed, as Postfix does with smtpd_forbid_bare_newline = reject.
 *
 * A session is freed only from the top of a libevent callback (dead flag
 * plus a depth count), never under the feet of code still using it.
 *
 * Trusts: nothing the client sends; lines are bounded by line_length_limit
 * before they are copied.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/maps_lookup.h"
#include "mta-core/queue.h"
#include "mta-core/smtpd_server.h"
#include "mta-core/smtpd_session.h"

static const char *const smtpd_cmd_names[SMTPD_CMD_COUNT] = {
    "helo", "ehlo", "starttls", "mail", "rcpt", "data", "bdat",
    "rset", "noop", "vrfy", "help", "quit", "unknown",
};

static void smtpd_drive(struct smtpd_session *s);
static void smtpd_session_free(struct smtpd_session *s);

static struct smtpd_session *smtpd_all; /* every session, for the shutdown */

/* smtpd_qid - the queue id for log lines, or NOQUEUE */
const char *smtpd_qid(const struct smtpd_session *s)
{
    return s->queue_id ? s->queue_id : "NOQUEUE";
}

/* smtpd_enter/smtpd_leave - bracket every libevent callback: free a dead session at the top */
static void smtpd_enter(struct smtpd_session *s)
{
    s->busy_depth++;
}

static void smtpd_leave(struct smtpd_session *s)
{
    if (--s->busy_depth == 0 && s->dead)
        smtpd_session_free(s);
}

/* smtpd_timeouts - the read timeout of the state, and the write timeout */
static void smtpd_timeouts(struct smtpd_session *s)
{
    struct timeval rd = { smtpd_conf->timeout, 0 }, wr = { smtpd_conf->timeout, 0 };

    if (s->state == SMTPD_ST_TLS)
        rd.tv_sec = wr.tv_sec = smtpd_conf->starttls_timeout;
    bufferevent_set_timeouts(s->bev, &rd, &wr);
}

/* smtpd_watermark - stop reading ahead of the session beyond this many input bytes */
static void smtpd_watermark(struct smtpd_session *s)
{
    size_t high = 256 * 1024;

    if ((size_t) smtpd_conf->line_limit * 2 + 2 > high)
        high = (size_t) smtpd_conf->line_limit * 2 + 2;
    bufferevent_setwatermark(s->bev, EV_READ, 0, high);
}

/*
 * smtpd_set_read - read from the client with the state's timeouts (on),
 * or only far enough to notice that the client went away, without a read
 * timeout (off: a hook is deciding, a reply is held back, the name is
 * being looked up); the watermark bounds what is read ahead meanwhile.
 */
void smtpd_set_read(struct smtpd_session *s, int on)
{
    struct timeval wr = { smtpd_conf->timeout, 0 };

    if (s->bev == NULL)
        return;
    if (s->state == SMTPD_ST_CLOSING || s->eof) {
        bufferevent_disable(s->bev, EV_READ);
    } else if (on) {
        smtpd_timeouts(s);
        bufferevent_enable(s->bev, EV_READ);
    } else {
        bufferevent_set_timeouts(s->bev, NULL, &wr);
        bufferevent_enable(s->bev, EV_READ);
    }
}

/* smtpd_wants_input - the state reads and nothing holds the session */
static int smtpd_wants_input(const struct smtpd_session *s)
{
    if (s->dead || s->sleeping || s->verdict_ready || s->commit
        || (s->chain && smtpd_chain_busy(s->chain)))
        return 0;
    return s->state == SMTPD_ST_COMMAND || s->state == SMTPD_ST_LONGLINE
           || s->state == SMTPD_ST_DATA || s->state == SMTPD_ST_BDAT;
}

/*
 * smtpd_output_pending - bytes not yet handed to the kernel: with TLS the
 * filter passes its output to the socket bufferevent below it, and both
 * must be empty before the connection may be closed.
 */
static int smtpd_output_pending(struct smtpd_session *s)
{
    struct bufferevent *under;

    if (s->bev == NULL)
        return 0;
    if (evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)
        return 1;
    under = bufferevent_get_underlying(s->bev);
    return under && evbuffer_get_length(bufferevent_get_output(under)) > 0;
}

/* smtpd_flush_check - (closing, TLS) look again until the last bytes are out */
static void smtpd_flush_check(evutil_socket_t fd, short what, void *arg)
{
    struct smtpd_session *s = arg;
    struct timeval tv = { 0, 20000 };

    (void) fd;
    (void) what;
    smtpd_enter(s);
    if (!smtpd_output_pending(s) || ++s->flush_tries > 250)
        s->dead = 1;
    else
        evtimer_add(s->flush_ev, &tv);
    smtpd_leave(s);
}

/* smtpd_closing_done - a closing session whose replies are all out can go */
static void smtpd_closing_done(struct smtpd_session *s)
{
    struct timeval tv = { 0, 20000 };

    if (s->state != SMTPD_ST_CLOSING || s->sleeping)
        return;
    if (!smtpd_output_pending(s)) {
        s->dead = 1;
    } else if (s->ssl && bufferevent_get_underlying(s->bev)
               && evbuffer_get_length(bufferevent_get_output(s->bev)) == 0) {
        /* Only the socket below the TLS filter still holds bytes: no callback for that. */
        if (s->flush_ev == NULL)
            s->flush_ev = evtimer_new(smtpd_conf->base, smtpd_flush_check, s);
        if (!evtimer_pending(s->flush_ev, NULL))
            evtimer_add(s->flush_ev, &tv);
    }
}

/* smtpd_write - bytes to the client, or to the held replies during an error sleep */
static void smtpd_write(struct smtpd_session *s, const char *data, size_t len)
{
    if (s->sleeping)
        buf_add(&s->held, data, len);
    else if (s->bev)
        bufferevent_write(s->bev, data, len);
}

/* smtpd_wake - the error sleep is over: send what was held, go on reading */
static void smtpd_wake(evutil_socket_t fd, short what, void *arg)
{
    struct smtpd_session *s = arg;

    (void) fd;
    (void) what;
    smtpd_enter(s);
    s->sleeping = 0;
    if (s->held.len && s->bev)
        bufferevent_write(s->bev, s->held.data, s->held.len);
    buf_reset(&s->held);
    smtpd_closing_done(s);
    smtpd_drive(s);
    smtpd_leave(s);
}

/*
 * smtpd_reply_text - send a reply: one line, or several joined by CRLF,
 * each written with CRLF.  Counts errors and the command's outcome, and
 * once the client has made smtpd_soft_error_limit errors every reply waits
 * smtpd_error_sleep_time first, as Postfix does.
 */
void smtpd_reply_text(struct smtpd_session *s, const char *reply)
{
    int code = (reply[0] - '0') * 100 + (reply[1] - '0') * 10 + (reply[2] - '0');

    if (s->error_count >= smtpd_conf->soft_error_limit && smtpd_conf->error_sleep > 0
        && !s->sleeping && s->sleep_ev) {
        struct timeval tv = { smtpd_conf->error_sleep, 0 };

        s->sleeping = 1;
        evtimer_add(s->sleep_ev, &tv);
    }
    smtpd_write(s, reply, strlen(reply));
    smtpd_write(s, "\r\n", 2);
    msg_debug("> %s: %s", s->namaddr ? s->namaddr : s->addr, reply);
    if (code >= 400 && code != 421)
        s->error_count++;
    /* The outcome of the command: its first reply, except 354 (DATA goes on). */
    if (s->cmd != SMTPD_CMD_NONE && !s->counted_final && code != 354) {
        if (code < 400)
            s->counts[s->cmd][1]++;
        s->counted_final = 1;
    }
}

/* smtpd_reply - format and send a reply */
void smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
{
    struct buf text = BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(&text, fmt, ap);
    va_end(ap);
    smtpd_reply_text(s, text.data);
    buf_free(&text);
}

/* smtpd_close - no more input; close once the last reply is out */
void smtpd_close(struct smtpd_session *s)
{
    s->state = SMTPD_ST_CLOSING;
    smtpd_set_read(s, 0);
    smtpd_closing_done(s);
}

/*
 * smtpd_log_reject - Postfix's decision line:
 *   "QID: reject: RCPT from name[addr]: 554 5.7.1 text; from=<s> to=<r>
 *    proto=ESMTP helo=<h>"
 * with the deciding rule appended when there is one.
 */
void smtpd_log_reject(struct smtpd_session *s, const char *action, const char *reply)
{
    struct buf line = BUF_INIT;
    const char *p;

    buf_printf(&line, "%s: %s: %s from %s: ", smtpd_qid(s), action, s->where, s->namaddr);
    /* One line per decision: a multi-line reply is shown on one line. */
    for (p = reply; *p; p++) {
        if (*p == '\r')
            continue;
        buf_addch(&line, *p == '\n' ? ' ' : *p);
    }
    buf_addch(&line, ';');
    if (s->msg)
        buf_printf(&line, " from=<%s>", s->msg->sender);
    if (s->ev.stage == SMTPD_STAGE_RCPT && s->cmd == SMTPD_CMD_RCPT)
        buf_printf(&line, " to=<%s>", s->path.addr.data);
    buf_printf(&line, " proto=%s", s->protocol);
    if (s->helo)
        buf_printf(&line, " helo=<%s>", s->helo);
    if (s->vrule.len && strcmp(reply, s->vreply.data) == 0)
        buf_printf(&line, " rule=%s", s->vrule.data);
    msg_info("%s", line.data);
    buf_free(&line);
}

/* smtpd_chain_done - a verdict from the chain; run after() now or from the loop */
static void smtpd_chain_done(void *ctx, const struct smtpd_verdict *v, const char *label)
{
    struct smtpd_session *s = ctx;

    s->action = v->action;
    buf_setstr(&s->vreply, v->reply ? v->reply : "");
    buf_setstr(&s->vrule, v->rule ? v->rule : "");
    buf_setstr(&s->vlabel, label);
    s->verdict_ready = 1;
    if (!s->in_run)
        event_active(s->resume_ev, 0, 0);
}

/*
 * smtpd_hooks_start - ask the hooks about a stage (s->ev carries the
 * details); after() runs with the verdict in s->action/vreply, now or
 * when the last hook answers.  Reading stops meanwhile.
 */
void smtpd_hooks_start(struct smtpd_session *s, enum smtpd_stage stage, smtpd_after_fn after)
{
    s->ev.stage = stage;
    s->ev.client = &s->client;
    s->ev.msg = s->msg;
    s->after = after;
    s->verdict_ready = 0;
    s->in_run = 1;
    smtpd_chain_run(s->chain, &s->ev, smtpd_chain_done, s);
    s->in_run = 0;
    if (s->verdict_ready) {
        s->verdict_ready = 0;
        after(s);
    } else {
        smtpd_set_read(s, 0);
    }
}

/*
 * smtpd_session_later - run fn(s) from the event loop (a result that came
 * in from outside the session's callbacks), then read on.
 */
void smtpd_session_later(struct smtpd_session *s, smtpd_after_fn fn)
{
    s->after = fn;
    s->verdict_ready = 1;
    event_active(s->resume_ev, 0, 0);
}

/* smtpd_resume - a hook answered late: act on the verdict, then read on */
static void smtpd_resume(evutil_socket_t fd, short what, void *arg)
{
    struct smtpd_session *s = arg;

    (void) fd;
    (void) what;
    smtpd_enter(s);
    if (s->verdict_ready && !s->dead) {
        s->verdict_ready = 0;
        s->after(s);
    }
    smtpd_drive(s);
    smtpd_leave(s);
}

/*
 * smtpd_read_line - take one command line from the input into s->line,
 * CRLF removed.  Returns 1 when there is one, 2 when a problem with the
 * line was handled already, 0 when more input is needed.
 */
static int smtpd_read_line(struct smtpd_session *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    struct evbuffer_ptr eol;
    size_t eol_len = 0, len;

    eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
    if (eol.pos < 0) {
        if (evbuffer_get_length(in) > (size_t) smtpd_conf->line_limit) {
            msg_warn("%s: request longer than %ld", s->namaddr, smtpd_conf->line_limit);
            evbuffer_drain(in, evbuffer_get_length(in));
            s->state = SMTPD_ST_LONGLINE;
            return 2;
        }
        return 0;
    }
    len = (size_t) eol.pos + 1;
    if (len > (size_t) smtpd_conf->line_limit + 1) {
        msg_warn("%s: request longer than %ld", s->namaddr, smtpd_conf->line_limit);
        evbuffer_drain(in, len);
        s->cmd = SMTPD_CMD_NONE;
        smtpd_reply(s, "500 5.5.2 %s Error: command too long", smtpd_conf->myhostname);
        return 2;
    }
    buf_reset(&s->line);
    buf_grow(&s->line, len);
    evbuffer_remove(in, s->line.data, len);
    s->line.len = len;
    s->line.data[len] = 0;
    /* Strict line ends: CRLF and nothing else (SMTP smuggling starts here). */
    if (len < 2 || s->line.data[len - 2] != '\r' || memchr(s->line.data, '\r', len - 2)) {
        const char *what = len >= 2 && s->line.data[len - 2] == '\r' ? "CR" : "LF";

        s->cmd = SMTPD_CMD_NONE;
        msg_info("%s: reject: bare <%s> received from %s", smtpd_qid(s), what, s->namaddr);
        smtpd_reply(s, "%ld 5.5.2 %s Error: bare <%s> received", smtpd_conf->bare_lf_code,
                    smtpd_conf->myhostname, what);
        smtpd_close(s);
        return 2;
    }
    buf_truncate(&s->line, len - 2);
    msg_debug("< %s: %s", s->namaddr, s->line.data);
    return 1;
}

/* smtpd_skip_long - drop the rest of an overlong command line, then complain */
static int smtpd_skip_long(struct smtpd_session *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    struct evbuffer_ptr eol;
    size_t eol_len = 0;

    eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
    if (eol.pos < 0) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return 0;
    }
    evbuffer_drain(in, (size_t) eol.pos + 1);
    s->state = SMTPD_ST_COMMAND;
    s->cmd = SMTPD_CMD_NONE;
    smtpd_reply(s, "500 5.5.2 %s Error: command too long", smtpd_conf->myhostname);
    return 1;
}

/* smtpd_drive - the input loop: act on what the client sent while the state wants it */
static void smtpd_drive(struct smtpd_session *s)
{
    while (smtpd_wants_input(s) && s->bev) {
        int progress = 0;

        switch (s->state) {
        case SMTPD_ST_COMMAND:
            progress = smtpd_read_line(s);
            if (progress == 1)
                smtpd_command(s);
            break;
        case SMTPD_ST_LONGLINE:
            progress = smtpd_skip_long(s);
            break;
        case SMTPD_ST_DATA:
        case SMTPD_ST_BDAT:
            progress = smtpd_data_input(s);
            break;
        default:
            break;
        }
        if (!progress)
            break;
    }
    if (s->dead || s->bev == NULL)
        return;
    /* The client has stopped sending and what it sent is used up. */
    if (s->eof && smtpd_wants_input(s)) {
        msg_info("lost connection after %s from %s", s->where, s->namaddr);
        s->dead = 1;
        return;
    }
    smtpd_set_read(s, smtpd_wants_input(s) || s->state == SMTPD_ST_TLS);
    smtpd_closing_done(s);
}

/* smtpd_read_cb - input arrived */
static void smtpd_read_cb(struct bufferevent *bev, void *arg)
{
    struct smtpd_session *s = arg;

    (void) bev;
    smtpd_enter(s);
    smtpd_drive(s);
    smtpd_leave(s);
}

/* smtpd_write_cb - the output buffer drained: a closing session can go */
static void smtpd_write_cb(struct bufferevent *bev, void *arg)
{
    struct smtpd_session *s = arg;

    (void) bev;
    smtpd_enter(s);
    smtpd_closing_done(s);
    smtpd_leave(s);
}

/* smtpd_event_cb - end of input, an error, a timeout, or the TLS handshake done */
static void smtpd_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct smtpd_session *s = arg;

    (void) bev;
    smtpd_enter(s);
    if (what & BEV_EVENT_CONNECTED) {
        smtpd_tls_done(s);
        smtpd_drive(s);
    } else if (what & BEV_EVENT_TIMEOUT) {
        if (s->state == SMTPD_ST_TLS) {
            /* No reply can be sent before the handshake is done. */
            msg_info("timeout after STARTTLS from %s", s->namaddr);
            s->dead = 1;
        } else if (s->state != SMTPD_ST_CLOSING) {
            msg_info("timeout after %s from %s", s->where, s->namaddr);
            s->cmd = SMTPD_CMD_NONE;
            smtpd_reply(s, "421 4.4.2 %s Error: timeout exceeded", smtpd_conf->myhostname);
            s->sleeping = 0; /* no error sleep for the goodbye */
            smtpd_close(s);
            /* Give the goodbye a short while, then go regardless. */
            {
                struct timeval tv = { 5, 0 };

                bufferevent_set_timeouts(s->bev, NULL, &tv);
            }
        } else {
            s->dead = 1;
        }
    } else if ((what & BEV_EVENT_EOF) && s->state != SMTPD_ST_TLS && s->state != SMTPD_ST_CLOSING) {
        /*
         * End of input: act on what the client sent before it (a pipelined
         * message, QUIT), even when a hook is still deciding; the session
         * ends when it needs more (smtpd_drive).
         */
        s->eof = 1;
        smtpd_drive(s);
    } else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (s->state == SMTPD_ST_TLS) {
            unsigned long e = bufferevent_get_openssl_error(s->bev);
            char text[256];

            ERR_error_string_n(e, text, sizeof(text));
            msg_info("SSL_accept error from %s: %s", s->namaddr, e ? text : "lost connection");
        } else if (s->state != SMTPD_ST_CLOSING) {
            msg_info("lost connection after %s from %s", s->where, s->namaddr);
        }
        s->dead = 1;
    }
    smtpd_leave(s);
}

/* smtpd_set_bev - talk through another bufferevent (the TLS filter) */
void smtpd_set_bev(struct smtpd_session *s, struct bufferevent *bev)
{
    s->bev = bev;
    bufferevent_setcb(bev, smtpd_read_cb, smtpd_write_cb, smtpd_event_cb, s);
    smtpd_watermark(s);
    smtpd_timeouts(s);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* smtpd_connect_done - the CONNECT hooks decided: greet, or refuse */
static void smtpd_connect_done(struct smtpd_session *s)
{
    s->state = SMTPD_ST_COMMAND;
    switch (s->action) {
    case SMTPD_REJECT:
        /*
         * Refuse every transaction from now on.  As Postfix: the policy's
         * own refusal (smtpd_delay_reject = no) replaces the greeting; a
         * milter's gets "554 <host> ESMTP not accepting connections".
         */
        smtpd_log_reject(s, *s->vlabel.data ? "milter-reject" : "reject", s->vreply.data);
        buf_setstr(&s->denied, s->vreply.data);
        if (*s->vlabel.data)
            smtpd_reply(s, "554 %s ESMTP not accepting connections", smtpd_conf->myhostname);
        else
            smtpd_reply_text(s, s->vreply.data);
        break;
    case SMTPD_TEMPFAIL:
        smtpd_log_reject(s, *s->vlabel.data ? "milter-reject" : "reject", s->vreply.data);
        if (strncmp(s->vreply.data, "421", 3) == 0) {
            smtpd_reply(s, "421 %s Service unavailable - try again later", smtpd_conf->myhostname);
            smtpd_close(s);
            return;
        }
        buf_setstr(&s->denied, s->vreply.data);
        if (*s->vlabel.data)
            smtpd_greet(s);
        else
            smtpd_reply_text(s, s->vreply.data);
        break;
    case SMTPD_SHUTDOWN:
        smtpd_log_reject(s, *s->vlabel.data ? "milter-reject" : "reject", s->vreply.data);
        smtpd_reply_text(s, s->vreply.data);
        smtpd_close(s);
        break;
    default:
        smtpd_greet(s);
        break;
    }
}

/* smtpd_named - the client has a name: log, apply per-client limits, ask the hooks */
static void smtpd_named(void *ctx, const char *name)
{
    struct smtpd_session *s = ctx;
    struct buf err = BUF_INIT;
    long count = 0;
    int excepted, rc;

    smtpd_enter(s);
    s->lookup = NULL;
    mem_free(s->name);
    mem_free(s->namaddr);
    s->name = mem_strdup(name && *name ? name : "unknown");
    s->namaddr = mem_alloc(strlen(s->name) + strlen(s->addr) + 3);
    sprintf(s->namaddr, "%s[%s]", s->name, s->addr);
    s->client.name = s->name;
    s->client.namaddr = s->namaddr;
    msg_info("connect from %s", s->namaddr);

    excepted = smtpd_conf->limit_exceptions
               && maps_list_match(smtpd_conf->limit_exceptions, s->name, s->addr, &err) > 0;
    s->limits_excepted = excepted;
    if (!excepted && (rc = smtpd_anvil_check(s->addr, &count)) != SMTPD_ANVIL_OK) {
        msg_warn("Connection %s limit exceeded: %ld from %s for service smtp",
                 rc == SMTPD_ANVIL_COUNT ? "concurrency" : "rate", count, s->namaddr);
        s->cmd = SMTPD_CMD_NONE;
        smtpd_reply(s, "421 4.7.0 %s Error: too many connections from %s",
                    smtpd_conf->myhostname, s->addr);
        smtpd_close(s);
    } else {
        s->state = SMTPD_ST_CONNECT;
        s->chain = smtpd_chain_open(&s->client);
        smtpd_hooks_start(s, SMTPD_STAGE_CONNECT, smtpd_connect_done);
        smtpd_drive(s);
    }
    buf_free(&err);
    smtpd_leave(s);
}

/*
 * smtpd_session_start - a new client on fd: set up the buffers, look up
 * its name (the greeting waits for that, as in Postfix).
 */
void smtpd_session_start(int fd, const struct sockaddr *sa, socklen_t salen)
{
    struct smtpd_session *s = mem_zalloc(sizeof(*s));
    struct sockaddr_storage local;
    socklen_t llen = sizeof(local);

    s->fd = fd;
    s->cmd = SMTPD_CMD_NONE;
    s->where = "CONNECT";
    s->state = SMTPD_ST_LOOKUP;
    buf_init(&s->vreply);
    buf_init(&s->vrule);
    buf_init(&s->vlabel);
    buf_init(&s->denied);
    buf_init(&s->line);
    buf_init(&s->held);
    buf_init(&s->content_reply);
    smtpd_path_init(&s->path);
    if (getnameinfo(sa, salen, s->addr, sizeof(s->addr), s->port, sizeof(s->port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        strcpy(s->addr, "unknown");
        strcpy(s->port, "0");
    }
    maps_addr_unmap(s->addr);
    if (getsockname(fd, (struct sockaddr *) &local, &llen) < 0
        || getnameinfo((struct sockaddr *) &local, llen, s->server_addr, sizeof(s->server_addr),
                       s->server_port, sizeof(s->server_port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        strcpy(s->server_addr, "unknown");
        strcpy(s->server_port, "0");
    }
    maps_addr_unmap(s->server_addr);
    s->name = mem_strdup("unknown");
    s->namaddr = mem_alloc(strlen(s->addr) + 10);
    sprintf(s->namaddr, "unknown[%s]", s->addr);
    s->protocol = mem_strdup("SMTP");
    s->client.addr = s->addr;
    s->client.port = s->port;
    s->client.family = sa->sa_family == AF_INET6 && !strchr(s->addr, ':') ? AF_INET : sa->sa_family;
    s->client.name = s->name;
    s->client.namaddr = s->namaddr;
    s->client.protocol = s->protocol;
    s->client.server_addr = s->server_addr;
    s->client.server_port = s->server_port;
    s->client.myhostname = smtpd_conf->myhostname;
    s->client.daemon_name = "mta-core";

    evutil_make_socket_nonblocking(fd);
    s->bev = bufferevent_socket_new(smtpd_conf->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (s->bev == NULL)
        msg_fatal("bufferevent_socket_new: out of resources");
    bufferevent_setcb(s->bev, smtpd_read_cb, smtpd_write_cb, smtpd_event_cb, s);
    smtpd_watermark(s);
    smtpd_set_read(s, 0);
    s->resume_ev = event_new(smtpd_conf->base, -1, 0, smtpd_resume, s);
    s->sleep_ev = evtimer_new(smtpd_conf->base, smtpd_wake, s);
    smtpd_anvil_connect(s->addr);
    s->anvil_counted = 1;
    s->next = smtpd_all;
    if (smtpd_all)
        smtpd_all->prev = s;
    smtpd_all = s;

    smtpd_enter(s);
    if (smtpd_conf->peername_lookup)
        s->lookup = smtpd_resolve_start(sa, salen, smtpd_named, s);
    else
        smtpd_named(s, "unknown");
    smtpd_leave(s);
}

/* smtpd_log_disconnect - "disconnect from name[addr] ehlo=1 mail=1 ... commands=N" */
static void smtpd_log_disconnect(struct smtpd_session *s)
{
    struct buf line = BUF_INIT;
    unsigned total = 0, ok = 0;
    int i;

    buf_printf(&line, "disconnect from %s", s->namaddr);
    for (i = 0; i < SMTPD_CMD_COUNT; i++) {
        if (s->counts[i][0] == 0)
            continue;
        total += s->counts[i][0];
        ok += s->counts[i][1];
        if (s->counts[i][0] == s->counts[i][1])
            buf_printf(&line, " %s=%u", smtpd_cmd_names[i], s->counts[i][0]);
        else
            buf_printf(&line, " %s=%u/%u", smtpd_cmd_names[i], s->counts[i][1], s->counts[i][0]);
    }
    if (total == ok)
        buf_printf(&line, " commands=%u", total);
    else
        buf_printf(&line, " commands=%u/%u", ok, total);
    msg_info("%s", line.data);
    buf_free(&line);
}

/* smtpd_session_free - the end: close the hooks, drop an unfinished message, log */
static void smtpd_session_free(struct smtpd_session *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        smtpd_all = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->lookup)
        smtpd_resolve_cancel(s->lookup);
    if (s->commit)
        smtpd_commit_cancel(s->commit);
    if (s->chain)
        smtpd_log_disconnect(s);
    smtpd_chain_close(s->chain);
    smtpd_xact_reset(s);
    if (s->anvil_counted)
        smtpd_anvil_disconnect(s->addr);
    if (s->bev)
        bufferevent_free(s->bev); /* frees the TLS filter, the socket and the SSL too */
    if (s->resume_ev)
        event_free(s->resume_ev);
    if (s->sleep_ev)
        event_free(s->sleep_ev);
    if (s->flush_ev)
        event_free(s->flush_ev);
    smtpd_path_free(&s->path);
    buf_free(&s->vreply);
    buf_free(&s->vrule);
    buf_free(&s->vlabel);
    buf_free(&s->denied);
    buf_free(&s->line);
    buf_free(&s->held);
    buf_free(&s->content_reply);
    mem_free(s->name);
    mem_free(s->namaddr);
    mem_free(s->helo);
    mem_free(s->protocol);
    mem_free(s->tls_version);
    mem_free(s->tls_cipher);
    mem_free(s);
    smtpd_session_ended();
}

/*
 * smtpd_sessions_close_all - the daemon is stopping: end every session.
 * No reply is owed: a message whose end of data was not acknowledged was
 * never accepted, and its queue file is removed.  Hooks are closed (a
 * pending call cancelled).
 */
void smtpd_sessions_close_all(void)
{
    int n = 0;

    while (smtpd_all) {
        smtpd_session_free(smtpd_all);
        n++;
    }
    if (n)
        msg_info("closed %d session%s at shutdown", n, n == 1 ? "" : "s");
}
