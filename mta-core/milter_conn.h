/*
 * milter_conn.h - one SMTP session's connection to one milter.
 *
 * A non-blocking state machine on libevent: connect, negotiate options,
 * send an event with its macros, wait for the reply (or not, when the
 * milter negotiated a no-reply flag), and at end of message send the
 * headers, body chunks and end-of-message and collect the edits.  Each
 * wait has its timer (milter_connect_timeout, milter_command_timeout,
 * milter_content_timeout); a milter that times out, breaks the protocol or
 * goes away stands for its default action for the rest of the session.
 * Everything it sends is untrusted and decoded by milter_proto.c.
 *
 * Only milter_chain.c drives these.  An operation either completes at
 * once (the function returns MILTER_CONN_DONE and fills in the verdict)
 * or later (MILTER_CONN_PENDING; the env's done() is called from the event
 * loop, never from inside the call that started the operation).
 */
#ifndef MAILSIFT_MILTER_CONN_H
#define MAILSIFT_MILTER_CONN_H

#include <event2/event.h>

#include "mta-core/milter_conf.h"
#include "mta-core/milter_macro.h"
#include "mta-core/milter_msg.h"

/* What a milter (or the chain of them) says about an event. */
enum milter_action {
    MILTER_CONTINUE, /* go on as if there were no milter */
    MILTER_REPLY,    /* answer the SMTP command with reply (4xx, 5xx, 421: then close) */
    MILTER_DISCARD,  /* accept, then drop the message silently */
    MILTER_HOLD      /* accept, into the hold queue, with hold_reason */
};

struct milter_verdict {
    enum milter_action action;
    const char *reply;       /* MILTER_REPLY: the reply, lines separated by CRLF */
    const char *hold_reason; /* MILTER_HOLD */
    const char *milter;      /* the milter that decided (its smtpd_milters name) */
};

enum milter_conn_state {
    MILTER_CONN_CLOSED,      /* not connected yet: connect at the first event */
    MILTER_CONN_CONNECTING,  /* socket connect in progress */
    MILTER_CONN_NEGOTIATING, /* our OPTNEG sent, waiting for the milter's */
    MILTER_CONN_READY,       /* negotiated, no event sent yet */
    MILTER_CONN_ENVELOPE,    /* in the SMTP session, sending envelope events */
    MILTER_CONN_MESSAGE,     /* sending the message content */
    MILTER_CONN_ACCEPT_CON,  /* it accepted the connection: no more events */
    MILTER_CONN_ACCEPT_MSG,  /* it accepted this message: no events until ABORT */
    MILTER_CONN_REJECT_CON,  /* it rejected the connection: its reply stands */
    MILTER_CONN_ERROR        /* it failed us: the default action stands */
};

#define MILTER_CONN_DONE 0
#define MILTER_CONN_PENDING 1

struct milter_conn;

/* What a connection needs from the session that owns it. */
struct milter_conn_env {
    struct event_base *base;
    const struct milter_conf *conf;
    const struct milter_macros *macros; /* the session's macros */
    void (*done)(void *ctx, struct milter_conn *c, const struct milter_verdict *v);
    void *ctx;
};

struct milter_conn *milter_conn_new(const struct milter_conn_env *env,
                                    const struct milter_spec *spec);
void milter_conn_free(struct milter_conn *c);
int milter_conn_event(struct milter_conn *c, int cmd, const struct buf *payload,
                      struct milter_verdict *v);
int milter_conn_message(struct milter_conn *c, struct milter_msg_view *view,
                        struct milter_verdict *v);
void milter_conn_abort(struct milter_conn *c);
int milter_conn_wants_rejected_rcpt(const struct milter_conn *c);
const char *milter_conn_name(const struct milter_conn *c);

#endif
