/*
 * milter_hook.h - smtpd_milters as one hook of the SMTP server.
 *
 * milter_hook_init() reads the milter configuration and, when
 * smtpd_milters names any milter, registers one hook (label "milter", so
 * the session logs "milter-reject") that runs the whole chain: each SMTP
 * session gets a milter_chain, each stage goes to it, and at end of
 * message the complete message goes to the milters one after the other,
 * each seeing the edits of the ones before, as in Postfix.  The content
 * events (HEADER, EOH, BODY) are answered at once for that reason.
 */
#ifndef MAILSIFT_MILTER_HOOK_H
#define MAILSIFT_MILTER_HOOK_H

#include <event2/event.h>

#include "libmatch/buf.h"
#include "libmatch/config.h"

int milter_hook_init(struct config *cfg, struct event_base *base, struct buf *err);

#endif
