/*
 * smtpd_data.c - message content: DATA and BDAT, the hooks for headers,
 * body and end of message, and the hand-over to the queue.
 *
 * The queue file was created at MAIL FROM (smtpd_cmd.c: the queue id is
 * known for the Received: header, the log and the hooks), the message is built
 * in smtpd_msg (headers in memory, body spooled), and only after the last
 * hook has answered at end of message is it written to the queue file,
 * committed (written, fsynced, renamed, directory fsynced: queue.h) and
 * answered with "250 2.0.0 Ok: queued as ID".  Anything that goes wrong
 * before that is a 4xx or 5xx and the queue file is removed: no 250 for a
 * message that is not on disk.
 *
 * A message with a bare LF or bare CR is read to its real end (CRLF.CRLF)
 * and refused as Postfix does ("550 5.5.2 <host> Error: bare <LF>
 * received"), so smuggled commands inside it are never executed.
 *
 * Trusts: nothing from the client; sizes are checked as bytes arrive.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/queue.h"
#include "mta-core/smtpd_server.h"
#include "mta-core/smtpd_session.h"

#define SMTPD_DATA_PIECE 65536 /* input bytes handed to the parser at once */

static void smtpd_eom(struct smtpd_session *s);

/* smtpd_received - our Received: header, as Postfix words it */
static void smtpd_received(struct smtpd_session *s)
{
    struct buf v = BUF_INIT;
    char date[64];
    struct tm tm;
    time_t now = time(NULL);
    const char *v6 = strchr(s->addr, ':') ? "IPv6:" : "";

    localtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm);
    buf_printf(&v, " from %s (%s [%s%s])", s->helo ? s->helo : s->name, s->name, v6, s->addr);
    if (smtpd_conf->tls_received_header && s->ssl)
        buf_printf(&v, "\n\t(using %s with cipher %s (%d bits))", s->tls_version, s->tls_cipher,
                   s->client.tls_bits);
    buf_printf(&v, "\n\tby %s (%s) with %s id %s", smtpd_conf->myhostname, smtpd_conf->mail_name,
               s->protocol, s->queue_id);
    if (s->msg->nrcpt == 1)
        buf_printf(&v, "\n\tfor <%s>; %s", s->msg->rcpts[0].addr, date);
    else
        buf_printf(&v, ";\n\t%s", date);
    smtpd_msg_add_header(s->msg, "Received", v.data);
    buf_free(&v);
}

/* smtpd_content_start - the parser, and the Received: header as the first HEADER event */
static void smtpd_content_start(struct smtpd_session *s, enum smtpd_content_mode mode)
{
    smtpd_content_init(&s->content, mode, (size_t) smtpd_conf->header_limit);
    s->content_active = 1;
    s->content_action = SMTPD_CONTINUE;
    buf_reset(&s->content_reply);
    s->xact = SMTPD_X_CONTENT;
}

/* smtpd_content_refused - a hook refused during content: answer at the end */
static void smtpd_content_after(struct smtpd_session *s)
{
    const char *label = s->vlabel.data;
    struct buf action = BUF_INIT;

    switch (s->action) {
    case SMTPD_REJECT:
    case SMTPD_TEMPFAIL:
    case SMTPD_SHUTDOWN:
        buf_printf(&action, "%s%sreject", label, *label ? "-" : "");
        smtpd_log_reject(s, action.data, s->vreply.data);
        s->content_action = s->action;
        buf_setstr(&s->content_reply, s->vreply.data);
        s->content.discard = 1;
        break;
    case SMTPD_DISCARD:
        if (!s->discard && *label) {
            buf_printf(&action, "%s-discard", label);
            smtpd_log_reject(s, action.data, "milter triggers DISCARD action");
        }
        s->discard = 1;
        s->content.discard = 1;
        break;
    default:
        break;
    }
    buf_free(&action);
}

/* smtpd_content_quiet - the hooks need hear no more of this message */
static int smtpd_content_quiet(const struct smtpd_session *s)
{
    return s->discard || s->content_action != SMTPD_CONTINUE || s->content.bad || s->content.discard;
}

/* smtpd_content_event - one parser event: store it, ask the hooks */
static void smtpd_content_event(struct smtpd_session *s, enum smtpd_content_event ev)
{
    struct buf err = BUF_INIT;
    enum smtpd_stage stage;

    if (ev == SMTPD_CONTENT_END) {
        smtpd_eom(s);
        return;
    }
    if (smtpd_conf->size_limit && s->content.size > smtpd_conf->size_limit)
        s->content.discard = 1; /* too big: read on, refuse at the end */
    if (smtpd_content_quiet(s))
        return;
    memset(&s->ev, 0, sizeof(s->ev));
    switch (ev) {
    case SMTPD_CONTENT_HEADER:
        smtpd_msg_add_header(s->msg, s->content.name.data, s->content.value.data);
        s->ev.name = s->content.name.data;
        s->ev.value = s->content.value.data;
        stage = SMTPD_STAGE_HEADER;
        break;
    case SMTPD_CONTENT_EOH:
        stage = SMTPD_STAGE_EOH;
        break;
    case SMTPD_CONTENT_BODY:
        if (smtpd_msg_body_append(s->msg, s->content.body.data, s->content.body.len, &err) < 0) {
            msg_warn("%s: %s", smtpd_qid(s), err.data);
            s->content_action = SMTPD_TEMPFAIL;
            buf_setstr(&s->content_reply, "451 4.3.0 Error: queue file write error");
            s->content.discard = 1;
            buf_free(&err);
            return;
        }
        s->ev.data = s->content.body.data;
        s->ev.len = s->content.body.len;
        stage = SMTPD_STAGE_BODY;
        break;
    default:
        return;
    }
    buf_free(&err);
    smtpd_hooks_start(s, stage, smtpd_content_after);
}

/*
 * smtpd_data_input - feed content from the input buffer to the parser
 * (DATA: up to the end of data; BDAT: up to the end of the chunk).
 * Returns 1 when something happened, 0 when more input is needed.
 */
int smtpd_data_input(struct smtpd_session *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    enum smtpd_content_event ev = SMTPD_CONTENT_NONE;
    size_t avail = evbuffer_get_length(in), len, took;
    const char *data = "";

    if (s->state == SMTPD_ST_BDAT && s->bdat_left == 0) {
        /* The chunk is in: the end of the message, or ready for the next chunk. */
        if (s->bdat_skip) {
            smtpd_reply_text(s, s->content_reply.len ? s->content_reply.data
                                                     : "503 5.5.1 Error: need RCPT command");
            if (s->bdat_last || s->msg == NULL)
                smtpd_xact_reset(s);
            s->state = SMTPD_ST_COMMAND;
            return 1;
        }
        if (!s->bdat_last) {
            smtpd_reply(s, "250 2.0.0 Ok: %llu bytes", s->bdat_chunk);
            s->xact = SMTPD_X_BDAT;
            s->state = SMTPD_ST_COMMAND;
            return 1;
        }
        ev = smtpd_content_finish(&s->content);
        smtpd_content_event(s, ev);
        return 1;
    }
    len = avail < SMTPD_DATA_PIECE ? avail : SMTPD_DATA_PIECE;
    if (s->state == SMTPD_ST_BDAT && len > s->bdat_left)
        len = (size_t) s->bdat_left;
    if (len > 0)
        data = (const char *) evbuffer_pullup(in, (ssize_t) len);
    if (s->state == SMTPD_ST_BDAT && s->bdat_skip) {
        evbuffer_drain(in, len);
        s->bdat_left -= len;
        return len > 0 || s->bdat_left == 0;
    }
    took = smtpd_content_feed(&s->content, data, len, &ev);
    evbuffer_drain(in, took);
    if (s->state == SMTPD_ST_BDAT)
        s->bdat_left -= took;
    if (ev == SMTPD_CONTENT_NONE)
        return took > 0 || (s->state == SMTPD_ST_BDAT && s->bdat_left == 0);
    smtpd_content_event(s, ev);
    return 1;
}

/* smtpd_queue_out - smtpd_msg_write's writer into the queue file */
static int smtpd_queue_out(void *ctx, const char *data, size_t len, struct buf *err)
{
    (void) err;
    return queue_write(ctx, data, len);
}

/* smtpd_committed - the commit is complete (or failed): say so, then read on */
static void smtpd_committed(struct smtpd_session *s)
{
    struct smtpd_msg *msg = s->msg;
    const struct smtpd_header *mid;

    if (s->commit_rc < 0) {
        smtpd_reply(s, "451 4.3.0 Error: queue file write error");
    } else {
        if ((mid = smtpd_msg_find_header(msg, "Message-ID", 1)) != NULL) {
            const char *v = mid->value;

            while (*v == ' ' || *v == '\t')
                v++;
            msg_info("%s: message-id=%.200s", s->queue_id, v);
        }
        if (msg->hold_reason)
            msg_info("%s: hold: %s from %s: %s; from=<%s> proto=%s%s%s%s", s->queue_id, s->where,
                     s->namaddr, msg->hold_reason, msg->sender, s->protocol,
                     s->helo ? " helo=<" : "", s->helo ? s->helo : "", s->helo ? ">" : "");
        /* Only now: the file and its directory entry are fsynced (queue_commit). */
        smtpd_reply(s, "250 2.0.0 Ok: queued as %s", s->queue_id);
        smtpd_queue_committed(s->queue_id);
    }
    smtpd_xact_reset(s);
}

/* smtpd_commit_done - a commit thread is done with the session's message */
static void smtpd_commit_done(void *ctx, int rc, const char *err)
{
    struct smtpd_session *s = ctx;

    s->commit = NULL;
    s->commit_rc = rc;
    if (rc < 0)
        msg_warn("%s: queue file write error: %s", s->queue_id, err);
    smtpd_session_later(s, smtpd_committed);
}

/*
 * smtpd_commit - write the envelope and content to the queue file, then
 * have a commit thread make it durable (smtpd_commit.c); the reply waits
 * for smtpd_committed(), and no input is read meanwhile.
 */
static void smtpd_commit(struct smtpd_session *s)
{
    struct smtpd_msg *msg = s->msg;
    struct buf err = BUF_INIT;
    size_t i;

    queue_set_sender(s->qf, msg->sender);
    if (msg->body_8bit)
        queue_add_sender_param(s->qf, "BODY", "8BITMIME");
    if (msg->smtputf8)
        queue_add_sender_param(s->qf, "SMTPUTF8", "");
    queue_add_attr(s->qf, "client_address", s->addr);
    queue_add_attr(s->qf, "client_name", s->name);
    queue_add_attr(s->qf, "client_port", s->port);
    if (s->helo)
        queue_add_attr(s->qf, "helo_name", s->helo);
    queue_add_attr(s->qf, "protocol", s->protocol);
    for (i = 0; i < msg->nrcpt; i++)
        queue_add_rcpt(s->qf, msg->rcpts[i].addr, 0, "");
    if (msg->hold_reason)
        queue_set_hold(s->qf, msg->hold_reason);
    if (smtpd_msg_write(msg, smtpd_queue_out, s->qf, &err) < 0)
        msg_warn("%s: %s", s->queue_id, err.data);
    buf_free(&err);
    /* The commit reports a write error from above too, and removes the file. */
    s->commit = smtpd_commit_start(s->qf, smtpd_commit_done, s);
    s->qf = NULL;
    smtpd_set_read(s, 0);
}

/* smtpd_eom_done - the hooks decided about the complete message */
static void smtpd_eom_done(struct smtpd_session *s)
{
    const char *label = s->vlabel.data;
    struct buf action = BUF_INIT;

    switch (s->action) {
    case SMTPD_REJECT:
    case SMTPD_TEMPFAIL:
    case SMTPD_SHUTDOWN:
        buf_printf(&action, "%s%sreject", label, *label ? "-" : "");
        smtpd_log_reject(s, action.data, s->vreply.data);
        smtpd_reply_text(s, s->vreply.data);
        smtpd_xact_reset(s);
        if (s->action == SMTPD_SHUTDOWN)
            smtpd_close(s);
        break;
    case SMTPD_DISCARD:
        if (*label) {
            buf_printf(&action, "%s-discard", label);
            smtpd_log_reject(s, action.data, "milter triggers DISCARD action");
        }
        smtpd_reply(s, "250 2.0.0 Ok: queued as %s", s->queue_id);
        smtpd_xact_reset(s);
        break;
    default:
        smtpd_commit(s);
        break;
    }
    buf_free(&action);
}

/* smtpd_eom - the content is complete: refuse what went wrong, else ask the hooks */
static void smtpd_eom(struct smtpd_session *s)
{
    s->where = "END-OF-MESSAGE";
    s->state = SMTPD_ST_COMMAND;
    if (s->content.bad) {
        const char *what = (s->content.bad & SMTPD_CONTENT_BARE_LF) ? "LF" : "CR";
        struct buf reply = BUF_INIT;

        buf_printf(&reply, "%ld 5.5.2 %s Error: bare <%s> received", smtpd_conf->bare_lf_code,
                   smtpd_conf->myhostname, what);
        smtpd_log_reject(s, "reject", reply.data);
        smtpd_reply_text(s, reply.data);
        buf_free(&reply);
        smtpd_xact_reset(s);
        return;
    }
    if (smtpd_conf->size_limit && s->content.size > smtpd_conf->size_limit) {
        msg_warn("%s: queue file size limit exceeded", smtpd_qid(s));
        smtpd_log_reject(s, "reject", "552 5.3.4 Error: message file too big");
        smtpd_reply(s, "552 5.3.4 Error: message file too big");
        smtpd_xact_reset(s);
        return;
    }
    if (s->content_action != SMTPD_CONTINUE) {
        smtpd_reply_text(s, s->content_reply.data);
        smtpd_xact_reset(s);
        return;
    }
    if (s->content.truncated)
        msg_info("%s: warning: header longer than header_size_limit %ld, truncated",
                 s->queue_id, smtpd_conf->header_limit);
    if (s->discard) {
        smtpd_reply(s, "250 2.0.0 Ok: queued as %s", s->queue_id);
        smtpd_xact_reset(s);
        return;
    }
    memset(&s->ev, 0, sizeof(s->ev));
    smtpd_hooks_start(s, SMTPD_STAGE_EOM, smtpd_eom_done);
}

/* smtpd_data_go - the DATA hooks decided: 354 and read content, or refuse */
static void smtpd_data_go(struct smtpd_session *s)
{
    const char *label = s->vlabel.data;
    struct buf action = BUF_INIT;

    if (s->action == SMTPD_REJECT || s->action == SMTPD_TEMPFAIL || s->action == SMTPD_SHUTDOWN) {
        buf_printf(&action, "%s%sreject", label, *label ? "-" : "");
        smtpd_log_reject(s, action.data, s->vreply.data);
        buf_free(&action);
        if (s->cmd == SMTPD_CMD_BDAT) {
            /* The chunk still has to be read; the refusal is the reply to it. */
            buf_setstr(&s->content_reply, s->vreply.data);
            s->bdat_skip = 1;
            s->bdat_failed = 1;
            s->state = SMTPD_ST_BDAT;
            return;
        }
        smtpd_reply_text(s, s->vreply.data);
        smtpd_xact_reset(s);
        if (s->action == SMTPD_SHUTDOWN)
            smtpd_close(s);
        return;
    }
    buf_free(&action);
    if (s->action == SMTPD_DISCARD) {
        s->action = SMTPD_DISCARD;
        smtpd_content_after(s);
    }
    if (s->cmd == SMTPD_CMD_BDAT) {
        smtpd_content_start(s, SMTPD_CONTENT_BDAT);
        s->state = SMTPD_ST_BDAT;
    } else {
        smtpd_content_start(s, SMTPD_CONTENT_DATA);
        s->state = SMTPD_ST_DATA;
        smtpd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
    }
    if (s->discard)
        s->content.discard = 1;
    /* Our Received: header is the first header the hooks see. */
    if (!smtpd_content_quiet(s)) {
        const struct smtpd_header *h = &s->msg->headers[0];

        memset(&s->ev, 0, sizeof(s->ev));
        s->ev.name = h->name;
        s->ev.value = h->value;
        smtpd_hooks_start(s, SMTPD_STAGE_HEADER, smtpd_content_after);
    }
}

/*
 * smtpd_data_begin - DATA or the first BDAT: add our Received: header (with
 * the queue id the transaction got at MAIL FROM), ask the DATA hooks.
 */
void smtpd_data_begin(struct smtpd_session *s)
{
    smtpd_received(s);
    memset(&s->ev, 0, sizeof(s->ev));
    smtpd_hooks_start(s, SMTPD_STAGE_DATA, smtpd_data_go);
}

/*
 * smtpd_bdat - "BDAT size [LAST]" (RFC 3030).  The chunk's bytes are always
 * read, also after an error, so that client and server stay in step; a
 * size that cannot be parsed leaves no way to do that: 521 and close.
 */
void smtpd_bdat(struct smtpd_session *s)
{
    const char *p = s->args, *end;
    struct buf num = BUF_INIT;
    unsigned long long size;
    int last = 0, ok;

    end = p + strspn(p, "0123456789");
    buf_set(&num, p, (size_t) (end - p));
    ok = smtpd_parse_number(num.data, (unsigned long long) -1 / 2, &size);
    buf_free(&num);
    if (ok && *end == ' ' && strcasecmp(end + 1, "LAST") == 0)
        last = 1;
    else if (!ok || *end != 0)
        ok = 0;
    if (!ok) {
        smtpd_reply(s, "521 5.5.4 Syntax: BDAT count [LAST]");
        smtpd_close(s);
        return;
    }
    s->bdat_left = size;
    s->bdat_chunk = size;
    s->bdat_last = last;
    s->bdat_skip = 0;
    buf_reset(&s->content_reply);
    if (s->denied.len || s->msg == NULL || s->msg->nrcpt == 0 || s->bdat_failed) {
        /* Read the chunk, then refuse it. */
        if (s->denied.len)
            buf_setstr(&s->content_reply, s->denied.data);
        else if (s->bdat_failed)
            buf_setstr(&s->content_reply, "503 5.5.1 Error: no transaction in progress");
        else if (s->msg && s->rcpt_tried)
            buf_setstr(&s->content_reply, "554 5.5.1 Error: no valid recipients");
        s->bdat_skip = 1;
        s->state = SMTPD_ST_BDAT;
        if (last)
            s->bdat_failed = 0;
        return;
    }
    s->bdat_size += size;
    if (smtpd_conf->size_limit && s->bdat_size > smtpd_conf->size_limit && s->content_active)
        s->content.discard = 1;
    if (s->xact == SMTPD_X_BDAT) {
        s->state = SMTPD_ST_BDAT;
        return;
    }
    smtpd_data_begin(s);
}
