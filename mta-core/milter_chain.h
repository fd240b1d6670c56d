/*
 * milter_chain.h - an SMTP session's milters, in smtpd_milters order.
 *
 * This is what the SMTP server calls.  One chain per SMTP session; each
 * milter gets its own connection (opened at the session's first event),
 * SMFIC_ABORT after every transaction and SMFIC_QUIT when the chain is
 * freed.  Every call is asynchronous: the verdict arrives through done()
 * from the event loop, never from inside the call, and a slow milter
 * stalls only its own session.  One operation at a time per chain.
 *
 *   milter_chain_connect(mc, "mail.example.org", "192.0.2.1", "40000", AF_INET, done, ctx);
 *     ... done(ctx, v): v->action MILTER_CONTINUE, or MILTER_REPLY with v->reply ...
 *
 * How the SMTP server applies a verdict (as Postfix's smtpd does):
 *   MILTER_CONTINUE  carry on.
 *   MILTER_REPLY     answer this command with v->reply (4xx/5xx, possibly multi-line
 *                    with CRLF between lines): at RCPT for that recipient only, at
 *                    MAIL/DATA for the transaction, at end of message for the message.
 *                    After CONNECT/HELO the same reply comes back for every later
 *                    event of the session.  A 421 reply means: say it and hang up.
 *   MILTER_DISCARD   accept this command and the rest of the transaction, then drop
 *                    the message silently (at end of message: say 250, queue nothing).
 *   MILTER_HOLD      accept, and queue the message on hold with v->hold_reason.
 *
 * At end of message the chain applies the milters' edits to the message
 * (struct smtpd_msg) it was given, one milter after the other, before
 * done() is called: the caller then queues the edited message and
 * envelope.  The process must ignore SIGPIPE.
 */
#ifndef MAILSIFT_MILTER_CHAIN_H
#define MAILSIFT_MILTER_CHAIN_H

#include <event2/event.h>

#include "mta-core/milter_conf.h"
#include "mta-core/milter_conn.h"
#include "mta-core/milter_msg.h"

struct milter_chain;

typedef void (*milter_chain_done_fn)(void *ctx, const struct milter_verdict *v);

struct milter_chain *milter_chain_new(struct event_base *base, struct milter_conf *conf);
void milter_chain_free(struct milter_chain *mc);
void milter_chain_quiet(struct milter_chain *mc);
void milter_chain_macro(struct milter_chain *mc, const char *name, const char *value);

void milter_chain_connect(struct milter_chain *mc, const char *client_name,
                          const char *client_addr, const char *client_port, int family,
                          milter_chain_done_fn done, void *ctx);
void milter_chain_helo(struct milter_chain *mc, const char *helo, milter_chain_done_fn done,
                       void *ctx);
void milter_chain_mail(struct milter_chain *mc, const char *const *argv,
                       milter_chain_done_fn done, void *ctx);
void milter_chain_rcpt(struct milter_chain *mc, const char *const *argv,
                       milter_chain_done_fn done, void *ctx);
void milter_chain_rcpt_rejected(struct milter_chain *mc, const char *const *argv,
                                const char *reply, milter_chain_done_fn done, void *ctx);
void milter_chain_data(struct milter_chain *mc, milter_chain_done_fn done, void *ctx);
void milter_chain_unknown(struct milter_chain *mc, const char *command,
                          milter_chain_done_fn done, void *ctx);
void milter_chain_message(struct milter_chain *mc, struct smtpd_msg *msg, size_t nours,
                          milter_chain_done_fn done, void *ctx);
void milter_chain_abort(struct milter_chain *mc);

#endif
