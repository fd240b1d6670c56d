/*
 * milter_hook.h - smtpd_milters as one hook of the SMTP server.
 *
 * milter_hook_init() reads the milter configuration and registers one hook (label "milter", so
 * the session logs "milter-reject") that runs the whole chain: each SMTP
 * session gets a milter_chain, each stage goes to it, and at end of
 * message the complete message goes to the milters one after the other,
 * each seeing the edits of the ones before, as in Postfix.  The content
 * events (HEADER, EOH, BODY) are answered at once for that reason.
 * milter_hook_reload() (SIGHUP) replaces the configuration for sessions
 * that begin afterwards; a session keeps the chain it began with.
 */
#ifndef MAILSIFT_MILTER_HOOK_H
#define MAILSIFT_MILTER_HOOK_H

#include <stddef.h>

#include <event2/event.h>

#include "libmatch/buf.h"
#include "libmatch/config.h"

int milter_hook_init(struct config *cfg, struct event_base *base, struct buf *err);
int milter_hook_reload(struct config *cfg, struct buf *err);
size_t milter_hook_count(void);

#endif
