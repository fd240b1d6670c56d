/*
 * smtpd_hooks.h - the chain of hooks every SMTP stage goes through.
 *
 * A hook is anything that has a say about a session: the built-in policy
 * (mynetworks, relay control, access_maps: smtpd_policy.c) and each milter
 * (the milter client).  For every stage of a session - connect, HELO, MAIL,
 * RCPT, DATA, each header, end of headers, body chunks, end of message,
 * abort, unknown command - the session calls each registered hook in
 * registration order and waits for its verdict before it calls the next one
 * and before it answers the client.  A hook may answer at once (the policy
 * does) or later, from an event callback (a milter waiting for its socket):
 * the session is suspended meanwhile, reads nothing more from the client
 * and runs no timer of its own.
 *
 * The contract, for a hook writer:
 *  - register once at start-up with smtpd_hooks_register(), before the
 *    first session;
 *  - open() is called for each new session, before its CONNECT event; it
 *    returns the hook's per-session state (NULL is a valid state);
 *  - event() is called for each stage with a call handle; the hook must
 *    call smtpd_hook_done(call, &verdict) exactly once, either inside
 *    event() or later from the event loop;
 *  - close() is called when the session ends (QUIT, disconnect, timeout,
 *    shutdown); an unfinished transaction gets no ABORT event then, close()
 *    says it all.  If a call is still pending, it is cancelled: after
 *    close() the hook must not touch that call handle again.  A client
 *    that disconnects while a hook decides is noticed, but what it sent
 *    before is still acted on, so the pending call is normally answered
 *    first (a hook must time out on its own, as milters do).
 *  - at SMTPD_STAGE_EOM a hook may edit the message through smtpd_msg.h
 *    (headers, recipients, sender, body) before it calls smtpd_hook_done();
 *    the next hook sees the edited message, and the queue gets it after
 *    the last hook.  Edits at other stages are allowed for the envelope
 *    (smtpd_msg_set_sender, add/del rcpt) only.  smtpd_msg_hold()
 *    (quarantine) may be called at any stage that has a message (MAIL to
 *    EOM); a hook that wants to hold at CONNECT or HELO remembers it and
 *    holds at MAIL.
 *  - HEADER events come one per header, our Received: header first; BODY
 *    events carry the body as it arrives (Unix line ends, up to 64 KB, not
 *    cut at line ends).  A hook that prefers the whole message at once (as
 *    Postfix sends it to milters) answers CONTINUE to those and reads
 *    ev->msg at EOM: headers in msg->headers, the body with
 *    smtpd_msg_body_read().  The session's queue id is in msg->queue_id
 *    from MAIL on (the queue file exists from MAIL FROM).
 *
 * What the session does with a verdict:
 *   CONTINUE  ask the next hook; after the last one, go on as usual.
 *   ACCEPT    the same as CONTINUE for the session (a milter that accepts
 *             keeps track of that itself and answers CONTINUE to later
 *             events without asking its filter).
 *   REJECT    5xx: refuse this stage (this recipient at RCPT, the message at
 *             DATA, content or EOM; every later command but QUIT, HELO, EHLO,
 *             NOOP and RSET at CONNECT).  The remaining hooks are not asked.
 *   TEMPFAIL  4xx, the same way.
 *   DISCARD   accept the transaction and then drop the message silently
 *             (MAIL to EOM).  At CONNECT or HELO it is taken as TEMPFAIL.
 *   SHUTDOWN  reply (421 by default) and close the connection.
 * A hook whose ops say rejected_rcpt is also shown, at RCPT, a recipient
 * that an earlier hook refused (REJECT or TEMPFAIL), with ev->rejected set
 * to the reply the client gets (as Postfix shows milters that negotiated
 * SMFIP_RCPT_REJ the recipients its own checks rejected); its verdict on
 * such an event is ignored and the earlier refusal stands.
 * Content-stage (HEADER, EOH, BODY) rejections are reported to the client
 * after the end of data; the rest of the content is read and dropped.
 * ABORT and UNKNOWN verdicts: ABORT's is ignored; UNKNOWN's reply is sent
 * instead of "502 5.5.2 Error: command not recognized" when it rejects.
 *
 * Replies: verdict.reply is NULL for the default ("550 5.7.1 Command
 * rejected", "451 4.7.1 Service unavailable - try again later", "421 4.7.0
 * <myhostname> Server closing connection") or a complete SMTP reply
 * "550 5.7.1 text", possibly several lines joined by "\r\n" ("550-5.7.1
 * one\r\n550 5.7.1 two").  Its code must agree with the action (5xx for
 * REJECT, 4xx for TEMPFAIL and SHUTDOWN); a reply that does not is
 * replaced by the default and a warning is logged.  The session copies it.
 *
 * Every decision is logged by the session, once, as
 *   "QUEUEID: <hook>-reject: RCPT from name[addr]: 550 5.7.1 text;
 *    from=<s> to=<r> proto=ESMTP helo=<h> rule=<verdict.rule>"
 * with "reject" alone for the built-in policy, so hooks need not log their
 * verdicts (they log their own trouble: a dead milter, a bad reply).
 */
#ifndef MAILSIFT_SMTPD_HOOKS_H
#define MAILSIFT_SMTPD_HOOKS_H

#include <stddef.h>

#include "mta-core/smtpd_msg.h"

enum smtpd_stage {
    SMTPD_STAGE_CONNECT, /* a client connected and its name was looked up */
    SMTPD_STAGE_HELO,    /* HELO or EHLO: arg is the name given */
    SMTPD_STAGE_MAIL,    /* MAIL FROM: arg is the address, esmtp_args its parameters */
    SMTPD_STAGE_RCPT,    /* RCPT TO: arg is the address, esmtp_args its parameters */
    SMTPD_STAGE_DATA,    /* DATA, or the first BDAT: before any content */
    SMTPD_STAGE_HEADER,  /* one header of the message: name, value (our Received: first) */
    SMTPD_STAGE_EOH,     /* end of the headers */
    SMTPD_STAGE_BODY,    /* a chunk of the body: data, len (LF line ends, may split lines) */
    SMTPD_STAGE_EOM,     /* end of message: last chance to reject, the time to edit */
    SMTPD_STAGE_ABORT,   /* the transaction ended without EOM (RSET, MAIL again, error, EOF) */
    SMTPD_STAGE_UNKNOWN, /* a command the server does not know: arg is the command line */
};

#define SMTPD_STAGE_COUNT (SMTPD_STAGE_UNKNOWN + 1)

enum smtpd_action {
    SMTPD_CONTINUE,
    SMTPD_ACCEPT,
    SMTPD_REJECT,
    SMTPD_TEMPFAIL,
    SMTPD_DISCARD,
    SMTPD_SHUTDOWN,
};

/* Who is talking to us; valid for the whole session, read-only for hooks. */
struct smtpd_client {
    const char *addr;        /* "192.0.2.1", "2001:db8::1" (no brackets) */
    const char *port;        /* client port, "0" when unknown */
    int family;              /* AF_INET or AF_INET6 */
    const char *name;        /* verified host name, or "unknown" */
    const char *namaddr;     /* "name[addr]", for log lines */
    const char *helo;        /* HELO/EHLO argument, NULL before it */
    const char *protocol;    /* "SMTP", "ESMTP", "ESMTPS", "UTF8SMTP", ... */
    const char *server_addr; /* our address of this connection */
    const char *server_port;
    const char *myhostname;
    const char *daemon_name; /* "mta-core" (the {daemon_name} macro) */
    const char *tls_version; /* "TLSv1.3" once STARTTLS is done, else NULL */
    const char *tls_cipher;  /* "TLS_AES_256_GCM_SHA384", else NULL */
    int tls_bits;            /* cipher bits, 0 without TLS */
};

/* One stage of the session, as the hook sees it. */
struct smtpd_event {
    enum smtpd_stage stage;
    const struct smtpd_client *client;
    struct smtpd_msg *msg;          /* the transaction (MAIL to EOM/ABORT), else NULL */
    const char *arg;                /* HELO, MAIL, RCPT, UNKNOWN: see enum smtpd_stage */
    const char *const *esmtp_args;  /* MAIL, RCPT: "SIZE=100", ... then NULL */
    const char *name;               /* HEADER */
    const char *value;              /* HEADER, as in smtpd_msg.h */
    const char *data;               /* BODY */
    size_t len;                     /* BODY */
    const char *rejected;           /* RCPT: an earlier hook refused it with this reply */
};

struct smtpd_verdict {
    enum smtpd_action action;
    const char *reply; /* NULL: the default reply for the action */
    const char *rule;  /* for the log line: what decided ("hash:/etc/access line 3") */
};

struct smtpd_hook_call; /* one pending event() of one hook */

struct smtpd_hook_ops {
    const char *name; /* log label: "milter" gives "milter-reject" */
    void *(*open)(void *hook_arg, const struct smtpd_client *client);
    void (*event)(void *state, struct smtpd_hook_call *call, const struct smtpd_event *ev);
    void (*close)(void *state);
    int rejected_rcpt; /* also shown RCPTs an earlier hook refused (ev->rejected) */
};

/* smtpd_hooks_register - add a hook at the end of the chain (start-up only) */
void smtpd_hooks_register(const struct smtpd_hook_ops *ops, void *hook_arg);

/* smtpd_hook_done - the verdict for a call; exactly once per event() */
void smtpd_hook_done(struct smtpd_hook_call *call, const struct smtpd_verdict *verdict);

/* smtpd_stage_name - "CONNECT", "RCPT", "END-OF-MESSAGE", ... for log lines */
const char *smtpd_stage_name(enum smtpd_stage stage);

/*
 * For the session only: one chain per session.  smtpd_chain_run() asks the
 * hooks in order and calls done() once with the deciding verdict (the
 * first that is not CONTINUE or ACCEPT, else CONTINUE) and the label of the
 * hook that gave it ("" for the built-in policy).  done() may run inside
 * smtpd_chain_run() or later from the event loop; the event and the
 * strings it points to must stay valid until then.
 */
struct smtpd_hook_chain;
typedef void (*smtpd_chain_fn)(void *ctx, const struct smtpd_verdict *verdict, const char *label);

struct smtpd_hook_chain *smtpd_chain_open(const struct smtpd_client *client);
void smtpd_chain_run(struct smtpd_hook_chain *chain, const struct smtpd_event *ev,
                     smtpd_chain_fn done, void *ctx);
int smtpd_chain_busy(const struct smtpd_hook_chain *chain);
void smtpd_chain_close(struct smtpd_hook_chain *chain);
void smtpd_hooks_reset(void);

#endif
