/*
 * action.h - the actions of Postfix's header_checks(5) and body_checks(5)
 * as milterd reads them from a table's result, and the SMTP replies they
 * give.
 *
 * action_parse() splits a result into the action word (case does not
 * matter) and its optional text, as Postfix's cleanup(8) does: the word
 * ends at the first space or tab, the text starts after the white space
 * that follows.  action_reply() turns REJECT, DEFER and 4xx/5xx into a
 * reply code, an enhanced status code and a text with Postfix's defaults.
 *
 * What it trusts: the result text comes from the administrator's table
 * (with $1 substitutions from the message, so: untrusted bytes).
 */
#ifndef MAILSIFT_MILTERD_ACTION_H
#define MAILSIFT_MILTERD_ACTION_H

#include <stddef.h>

#include "libmatch/buf.h"

enum action_type {
    ACTION_UNKNOWN = 0, /* not an action: warned about, the line passes */
    ACTION_DUNNO,       /* DUNNO, and OK (which Postfix treats the same) */
    ACTION_REJECT,
    ACTION_DEFER,       /* milterd extension (access(5) syntax) */
    ACTION_CODE,        /* 4NN text / 5NN text: milterd extension */
    ACTION_WARN,
    ACTION_INFO,
    ACTION_FILTER,
    ACTION_PASS,
    ACTION_DISCARD,
    ACTION_HOLD,
    ACTION_PREPEND,
    ACTION_REPLACE,
    ACTION_REDIRECT,
    ACTION_BCC,
    ACTION_STRIP,
    ACTION_IGNORE,
};

struct action {
    enum action_type type;
    const char *word; /* the action word as written */
    size_t word_len;
    const char *text; /* the optional text ("" when there is none) */
};

/* An SMTP reply for a rejection or deferral. */
struct action_reply {
    char code[4];    /* "550" */
    char dsn[16];    /* "5.7.1" */
    struct buf text; /* free text after the status codes */
};

void action_parse(const char *result, struct action *action);
const char *action_name(enum action_type type);
int action_reply(const struct action *action, struct action_reply *reply, struct buf *warning);
void action_reply_init(struct action_reply *reply);
void action_reply_free(struct action_reply *reply);
void action_reply_set(struct action_reply *reply, const char *code, const char *dsn, const char *text);

#define ACTION_REJECT_TEXT "message content rejected"
#define ACTION_DEFER_TEXT  "message content deferred"

#endif
