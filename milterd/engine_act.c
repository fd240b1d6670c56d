/*
 * engine_act.c - look a header or body line up in its table and do what
 * the rule says, as Postfix's cleanup(8) does (cleanup_act), and log it.
 *
 * Postfix's rules that matter for the verdict:
 *   - empty lines never match (no lookup); a lookup key ends at a NUL byte;
 *   - REJECT (and milterd's DEFER and 4NN/5NN), DISCARD, REDIRECT and PASS
 *     turn all further header and body checks off for the message;
 *   - HOLD is ignored once the message is held or discarded;
 *   - PREPEND and REPLACE of a header need "name: value" text, else the
 *     rule is warned about and the header passes unchanged;
 *   - REDIRECT and BCC need an address with '@';
 *   - FILTER needs "transport:destination"; a milter cannot route mail,
 *     so milterd logs it and goes on;
 *   - an unknown action is warned about and the line passes;
 *   - a lookup that cannot complete marks the message for a temporary
 *     failure (451 4.3.0) and checking goes on.
 *
 * Log lines look like Postfix's: "QUEUEID: reject: header Subject: x from
 * host[addr]; from=<s> to=<r> rule=FILE:LINE (header_checks): text".
 */
#include <string.h>

#include "libmatch/header.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "milterd/engine_int.h"

#define ENGINE_LOG_TEXT_MAX 200 /* bytes of the header or line in a log line, as Postfix */

/* engine_log - one log line for a decision */
void engine_log(struct engine *engine, const char *what, const char *context, const char *text,
                size_t len, const char *where, const char *table, const char *detail)
{
    struct buf line = BUF_INIT;
    size_t i;

    buf_printf(&line, "%s: %s: %s ", engine->queue_id.len ? engine->queue_id.data : "NOQUEUE",
               what, context);
    /* As Postfix logs it: a C string, 200 bytes at most, '?' for control characters. */
    len = strnlen(text, len);
    if (len > ENGINE_LOG_TEXT_MAX)
        len = ENGINE_LOG_TEXT_MAX;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text[i];

        buf_addch(&line, c < 32 || c == 127 ? '?' : c);
    }
    buf_printf(&line, " from %s;", engine->client.data);
    if (engine->sender.len || engine->nrcpts)
        buf_printf(&line, " from=<%s>", engine->sender.data);
    if (engine->nrcpts) {
        const char *rcpt = engine->rcpts[0];
        size_t rlen = strlen(rcpt);

        /* The MTA gives recipients in angle brackets. */
        if (rlen >= 2 && rcpt[0] == '<' && rcpt[rlen - 1] == '>')
            buf_printf(&line, " to=<%.*s>", (int) (rlen - 2), rcpt + 1);
        else
            buf_printf(&line, " to=<%s>", rcpt);
    }
    if (where)
        buf_printf(&line, " rule=%s (%s)", where, table);
    if (detail && *detail)
        buf_printf(&line, ": %s", detail);
    msg_info("%s", line.data);
    buf_free(&line);
}

/* engine_set_final - a verdict that ends all checking */
void engine_set_final(struct engine *engine, enum engine_verdict verdict)
{
    if (engine->final == ENGINE_CONTINUE)
        engine->final = verdict;
    engine->filter = 0;
}

static void engine_remember_rule(struct engine *engine, const char *where, int class, const char *result)
{
    struct engine_result *r = &engine->result;
    struct engine_rule *rule;

    if (r->nrules >= ENGINE_MAX_RULES) {
        r->rules_dropped++;
        return;
    }
    r->rules = mem_realloc_array(r->rules, r->nrules + 1, sizeof(*r->rules));
    rule = &r->rules[r->nrules++];
    rule->where = mem_strdup(where);
    rule->class = class;
    rule->result = mem_strdup(result);
}

static int engine_add_bcc(struct engine *engine, const char *addr)
{
    size_t i;

    for (i = 0; i < engine->nbcc; i++)
        if (strcmp(engine->bcc[i], addr) == 0)
            return 0; /* Postfix ignores duplicates */
    if (engine->nbcc >= ENGINE_MAX_EDITS) {
        engine->edits_dropped++;
        return -1;
    }
    engine->bcc = mem_realloc_array(engine->bcc, engine->nbcc + 1, sizeof(*engine->bcc));
    engine->bcc[engine->nbcc++] = mem_strdup(addr);
    return 0;
}

/* engine_is_header_text - "name: value" text for a header PREPEND or REPLACE */
static int engine_is_header_text(const char *text)
{
    return header_label_len(text, strlen(text)) > 0;
}

/* engine_act - carry out one matched rule; the outcome for the line */
static enum engine_outcome engine_act(struct engine *engine, int class, const char *context,
                                      const char *text, size_t len, const struct table_match *match,
                                      struct buf *new_text)
{
    const char *table = policy_class_names[class];
    int is_header = strcmp(context, "header") == 0;
    struct action action;
    struct buf where = BUF_INIT;
    struct buf warning = BUF_INIT;
    enum engine_outcome outcome = ENGINE_KEEP;
    int rc;

    buf_printf(&where, "%s:%d", match->file ? match->file : "?", match->line);
    engine_remember_rule(engine, where.data, class, match->result.data);
    action_parse(match->result.data, &action);

    switch (action.type) {
    case ACTION_REJECT:
    case ACTION_DEFER:
    case ACTION_CODE:
        rc = action_reply(&action, &engine->result.reply, &warning);
        if (warning.len)
            msg_warn("%s: %s", where.data, warning.data);
        engine_set_final(engine, rc == 1 ? ENGINE_REJECT : ENGINE_DEFER);
        buf_reset(&warning);
        buf_printf(&warning, "%s %s %s", engine->result.reply.code, engine->result.reply.dsn,
                   engine->result.reply.text.data);
        engine_log(engine, rc == 1 ? "reject" : "defer", context, text, len, where.data, table, warning.data);
        break;
    case ACTION_WARN:
        engine_log(engine, "warning", context, text, len, where.data, table, action.text);
        break;
    case ACTION_INFO:
        engine_log(engine, "info", context, text, len, where.data, table, action.text);
        break;
    case ACTION_FILTER:
        if (*action.text == 0)
            msg_warn("%s: missing FILTER command argument in %s map", where.data, table);
        else if (strchr(action.text, ':') == NULL)
            msg_warn("%s: bad FILTER command %s in %s -- need transport:destination", where.data,
                     action.text, table);
        else
            engine_log(engine, "filter", context, text, len, where.data, table,
                       "a milter cannot route mail to a content filter; FILTER ignored");
        break;
    case ACTION_PASS:
        engine_log(engine, "pass", context, text, len, where.data, table, action.text);
        engine->filter = 0;
        engine->pass = 1;
        break;
    case ACTION_DISCARD:
        engine_log(engine, "discard", context, text, len, where.data, table, action.text);
        engine->discard = 1;
        engine_set_final(engine, ENGINE_DISCARD);
        break;
    case ACTION_HOLD:
        if (!engine->hold && !engine->discard) {
            engine_log(engine, "hold", context, text, len, where.data, table, action.text);
            engine->hold = 1;
            if (*action.text)
                buf_setstr(&engine->result.hold_reason, action.text);
            else
                buf_printf(&engine->result.hold_reason, "held by %s", where.data);
        }
        break;
    case ACTION_PREPEND:
    case ACTION_REPLACE:
        if (*action.text == 0) {
            msg_warn("%s: %s action without text in %s map", where.data, action_name(action.type), table);
        } else if (is_header && !engine_is_header_text(action.text)) {
            msg_warn("%s: bad %s header text \"%s\" in %s map -- need \"headername: headervalue\"",
                     where.data, action_name(action.type), action.text, table);
        } else {
            engine_log(engine, action.type == ACTION_PREPEND ? "prepend" : "replace", context, text, len,
                       where.data, table, action.text);
            buf_setstr(new_text, action.text);
            outcome = action.type == ACTION_PREPEND ? ENGINE_PREPEND : ENGINE_REPLACE;
        }
        break;
    case ACTION_REDIRECT:
        if (strchr(action.text, '@') == NULL) {
            msg_warn("%s: bad REDIRECT target \"%s\" in %s map -- need user@domain", where.data,
                     action.text, table);
        } else {
            buf_setstr(&engine->redirect, action.text);
            engine_log(engine, "redirect", context, text, len, where.data, table, action.text);
            engine->filter = 0;
        }
        break;
    case ACTION_BCC:
        if (strchr(action.text, '@') == NULL) {
            msg_warn("%s: bad BCC address \"%s\" in %s map -- need user@domain", where.data,
                     action.text, table);
        } else if (engine_add_bcc(engine, action.text) == 0) {
            engine_log(engine, "bcc", context, text, len, where.data, table, action.text);
        } else {
            msg_warn("%s: too many BCC recipients (limit %d); %s not added", engine->queue_id.data,
                     ENGINE_MAX_EDITS, action.text);
        }
        break;
    case ACTION_STRIP:
        engine_log(engine, "strip", context, text, len, where.data, table, action.text);
        outcome = ENGINE_DROP;
        break;
    case ACTION_IGNORE:
        engine_log(engine, "ignore", context, text, len, where.data, table, action.text);
        outcome = ENGINE_DROP;
        break;
    case ACTION_DUNNO:
        msg_debug("%s: %s %.100s: %s (%s): DUNNO", engine->queue_id.len ? engine->queue_id.data : "NOQUEUE",
                  context, engine->key.data, where.data, table);
        break;
    case ACTION_UNKNOWN:
        msg_warn("%s: unknown command in %s map: %s", where.data, table, match->result.data);
        break;
    }
    buf_free(&where);
    buf_free(&warning);
    return outcome;
}

/*
 * engine_check - apply the table of a class to one header or body line.
 * text/len is the whole header or line; the outcome says what becomes of
 * it, with the new text in new_text for REPLACE and PREPEND.
 */
enum engine_outcome engine_check(struct engine *engine, int class, const char *context,
                                 const char *text, size_t len, struct buf *new_text)
{
    const struct table *table = engine->policy->tables[class];
    struct table_match match;
    enum engine_outcome outcome = ENGINE_KEEP;
    size_t keylen;
    int rc;

    if (!engine->filter || table == NULL)
        return ENGINE_KEEP;

    /* As Postfix: the key is a C string, and an empty one never matches. */
    keylen = strnlen(text, len);
    if (keylen == 0)
        return ENGINE_KEEP;
    buf_set(&engine->key, text, keylen);

    table_match_init(&match);
    buf_reset(&engine->err);
    rc = table_lookup(table, engine->key.data, engine->key.len, &match, &engine->err);
    if (rc < 0) {
        msg_warn("%s: %s map lookup problem -- message not accepted, try again later: %s",
                 engine->queue_id.len ? engine->queue_id.data : "NOQUEUE", policy_class_names[class],
                 engine->err.data);
        engine->lookup_error = 1;
    } else if (rc > 0) {
        outcome = engine_act(engine, class, context, text, len, &match, new_text);
    }
    table_match_free(&match);
    return outcome;
}
