/*
 * engine.h - milterd's policy engine: one message in, Postfix cleanup(8)'s
 * header_checks / mime_header_checks / nested_header_checks / body_checks
 * verdict and edits out.
 *
 * The message arrives as a milter sees it: the envelope, the primary
 * headers one by one (name and value, the value with its leading space),
 * the end of the headers, body chunks (CR LF line ends) and the end.
 * Headers and body go through Postfix's MIME rules (libmatch/mime_state)
 * so that every logical header and every body line meets the table Postfix
 * would apply to it, and the actions do what cleanup(8) does, within what
 * a milter can do:
 *
 *   REJECT, DEFER, 4NN/5NN  a reply; no more checks (final at once)
 *   DISCARD                 no more checks (final at once)
 *   HOLD                    quarantine at the end of the message
 *   WARN, INFO, FILTER      log only (a milter cannot choose a transport)
 *   PASS                    no more checks, no attachment policy
 *   IGNORE, STRIP           delete the header or body line
 *   PREPEND, REPLACE        insert a header or line before / replace it
 *   REDIRECT                all recipients replaced at the end; no more checks
 *   BCC                     a recipient added at the end
 *
 * Primary header edits become smfi_insheader/smfi_chgheader edits with the
 * right indexes; edits to MIME headers, nested headers or body lines make
 * the engine rewrite the body (kept in a spool, bounded memory) for
 * smfi_replacebody.
 *
 * One log line per decision: queue id, the action, the header or line, the
 * client and envelope, the rule's file:line and table, and the text.
 *
 * What it trusts: the policy (tables are the administrator's); the message
 * and the envelope are untrusted, every limit is named in policy.h or here.
 */
#ifndef MAILSIFT_MILTERD_ENGINE_H
#define MAILSIFT_MILTERD_ENGINE_H

#include <stddef.h>

#include "libmatch/buf.h"
#include "milterd/action.h"
#include "milterd/engine_attach.h"
#include "milterd/policy.h"
#include "milterd/spool.h"

#define ENGINE_MAX_HEADER_NAMES 10000 /* distinct primary header names tracked for edits */
#define ENGINE_MAX_EDITS        10000 /* header edits and BCC recipients per message */
#define ENGINE_MAX_RULES        1000  /* rules remembered for the test-mode report */
#define ENGINE_MAX_RECIPIENTS   100000

enum engine_verdict {
    ENGINE_CONTINUE = 0, /* nothing final yet */
    ENGINE_ACCEPT,
    ENGINE_HOLD,    /* accept and quarantine */
    ENGINE_DISCARD, /* accept and drop */
    ENGINE_DEFER,   /* 4xx */
    ENGINE_REJECT,  /* 5xx */
};

/* An edit for the MTA, in the order it must be applied. */
enum engine_edit_type {
    ENGINE_INSHEADER, /* index: position, 0 = above everything */
    ENGINE_CHGHEADER, /* index: 1-based among headers of that name; value NULL deletes */
    ENGINE_ADDRCPT,
    ENGINE_DELRCPT,
};

struct engine_edit {
    enum engine_edit_type type;
    size_t index;
    char *name;  /* header name, or the address */
    char *value; /* header value with its leading space, NULL for a deletion */
};

/* A rule that fired, for milterd -t. */
struct engine_rule {
    char *where;   /* FILE:LINE */
    int class;     /* enum policy_class */
    char *result;  /* the table's result */
};

struct engine_result {
    enum engine_verdict verdict;
    struct action_reply reply; /* REJECT and DEFER */
    struct buf hold_reason;    /* HOLD */
    struct engine_edit *edits;
    size_t nedits;
    struct spool *body;        /* non-NULL: replace the body with this */
    struct engine_rule *rules; /* in the order they fired */
    size_t nrules;
    size_t rules_dropped;      /* fired after ENGINE_MAX_RULES */
    struct engine_attach_result attach;
};

struct engine;

struct engine *engine_new(struct policy *policy, const char *client);
void engine_free(struct engine *engine);
void engine_set_queue_id(struct engine *engine, const char *queue_id);
int engine_has_queue_id(const struct engine *engine);
void engine_set_sender(struct engine *engine, const char *sender);
void engine_add_rcpt(struct engine *engine, const char *rcpt);
enum engine_verdict engine_header(struct engine *engine, const char *name, const char *value);
enum engine_verdict engine_eoh(struct engine *engine);
enum engine_verdict engine_body(struct engine *engine, const char *data, size_t len);
enum engine_verdict engine_eom(struct engine *engine);
const struct engine_result *engine_result(const struct engine *engine);
const struct action_reply *engine_reply(const struct engine *engine);
const char *engine_verdict_name(enum engine_verdict verdict);

#endif
