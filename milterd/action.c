/*
 * action.c - parse header/body_checks actions; make their SMTP replies.
 *
 * REJECT follows Postfix's cleanup(8): the optional text may start with an
 * enhanced status code (d.ddd.ddd); without one, 5.7.1 is put in front.  A
 * status code that starts with neither 4 nor 5 is warned about and made a
 * 4.x.x.  The reply code is 550 for 5.x.x and 451 for 4.x.x (Postfix's
 * smtpd answers a 4.x.x content rejection with 451), and without any text
 * the reply is "550 5.7.1 message content rejected".
 *
 * DEFER and "4NN text"/"5NN text" are not header_checks actions in Postfix
 * (it logs "unknown command" and lets the line pass); milterd takes them
 * with access(5)'s meaning: DEFER is "450 4.7.1 text", a code is used as
 * given with a default status code of 4.7.1 or 5.7.1 to match it.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "milterd/action.h"

static const struct {
    const char *word;
    enum action_type type;
} action_words[] = {
    {"REJECT", ACTION_REJECT},   {"DEFER", ACTION_DEFER},     {"WARN", ACTION_WARN},
    {"INFO", ACTION_INFO},       {"FILTER", ACTION_FILTER},   {"PASS", ACTION_PASS},
    {"DISCARD", ACTION_DISCARD}, {"HOLD", ACTION_HOLD},       {"PREPEND", ACTION_PREPEND},
    {"REPLACE", ACTION_REPLACE}, {"REDIRECT", ACTION_REDIRECT}, {"BCC", ACTION_BCC},
    {"STRIP", ACTION_STRIP},     {"IGNORE", ACTION_IGNORE},   {"DUNNO", ACTION_DUNNO},
    {"OK", ACTION_DUNNO},
};

static int action_is_code(const char *word, size_t len)
{
    return len == 3 && (word[0] == '4' || word[0] == '5') && isdigit((unsigned char) word[1])
           && isdigit((unsigned char) word[2]);
}

/* action_parse - split a table result into action word and optional text */
void action_parse(const char *result, struct action *action)
{
    size_t i, len = strcspn(result, " \t");
    const char *text = result + len;

    while (*text && isspace((unsigned char) *text))
        text++;
    action->word = result;
    action->word_len = len;
    action->text = text;
    action->type = ACTION_UNKNOWN;
    for (i = 0; i < sizeof(action_words) / sizeof(action_words[0]); i++) {
        if (strlen(action_words[i].word) == len && strncasecmp(action_words[i].word, result, len) == 0) {
            action->type = action_words[i].type;
            return;
        }
    }
    if (action_is_code(result, len))
        action->type = ACTION_CODE;
}

/* action_name - the canonical word of an action type */
const char *action_name(enum action_type type)
{
    size_t i;

    if (type == ACTION_CODE)
        return "CODE";
    for (i = 0; i < sizeof(action_words) / sizeof(action_words[0]); i++)
        if (action_words[i].type == type)
            return action_words[i].word;
    return "UNKNOWN";
}

/* action_dsn_len - length of an enhanced status code at text, or 0 (Postfix's dsn_valid) */
static size_t action_dsn_len(const char *text)
{
    const char *cp = text;
    size_t n;

    if ((cp[0] != '2' && cp[0] != '4' && cp[0] != '5') || cp[1] != '.')
        return 0;
    cp += 2;
    n = strspn(cp, "0123456789");
    if (n < 1 || n > 3 || cp[n] != '.')
        return 0;
    cp += n + 1;
    n = strspn(cp, "0123456789");
    if (n < 1 || n > 3 || (cp[n] != 0 && !isspace((unsigned char) cp[n])))
        return 0;
    return (size_t) (cp + n - text);
}

/* action_split - an optional status code, then the text; def_dsn when none */
static void action_split(const char *text, const char *def_dsn, struct action_reply *reply)
{
    size_t n;

    while (isspace((unsigned char) *text))
        text++;
    if ((n = action_dsn_len(text)) > 0 && n < sizeof(reply->dsn)) {
        memcpy(reply->dsn, text, n);
        reply->dsn[n] = 0;
        text += n;
    } else {
        strcpy(reply->dsn, def_dsn);
    }
    while (isspace((unsigned char) *text))
        text++;
    buf_setstr(&reply->text, text);
}

/* action_reply_init - an empty reply */
void action_reply_init(struct action_reply *reply)
{
    reply->code[0] = 0;
    reply->dsn[0] = 0;
    buf_init(&reply->text);
}

/* action_reply_free - release a reply */
void action_reply_free(struct action_reply *reply)
{
    buf_free(&reply->text);
}

/* action_reply_set - fill in a reply from its parts */
void action_reply_set(struct action_reply *reply, const char *code, const char *dsn, const char *text)
{
    snprintf(reply->code, sizeof(reply->code), "%s", code);
    snprintf(reply->dsn, sizeof(reply->dsn), "%s", dsn);
    buf_setstr(&reply->text, text);
}

/*
 * action_reply - the reply for REJECT, DEFER or a code.  Returns 1 for a
 * permanent rejection, 0 for a temporary one, -1 for other actions.  A
 * problem with the rule (a 2.x.x status) is appended to warning.
 */
int action_reply(const struct action *action, struct action_reply *reply, struct buf *warning)
{
    switch (action->type) {
    case ACTION_REJECT:
        if (*action->text == 0) {
            action_reply_set(reply, "550", "5.7.1", ACTION_REJECT_TEXT);
            return 1;
        }
        action_split(action->text, "5.7.1", reply);
        if (reply->dsn[0] != '4' && reply->dsn[0] != '5') {
            buf_printf(warning, "bad DSN action in %s -- need 4.x.x or 5.x.x", action->text);
            reply->dsn[0] = '4';
        }
        strcpy(reply->code, reply->dsn[0] == '4' ? "451" : "550");
        return reply->dsn[0] == '5';
    case ACTION_DEFER:
        action_split(*action->text ? action->text : ACTION_DEFER_TEXT, "4.7.1", reply);
        if (reply->dsn[0] != '4') {
            buf_printf(warning, "bad DSN action in %s -- DEFER needs 4.x.x", action->text);
            reply->dsn[0] = '4';
        }
        strcpy(reply->code, "450");
        return 0;
    case ACTION_CODE:
        memcpy(reply->code, action->word, 3);
        reply->code[3] = 0;
        action_split(*action->text ? action->text
                                   : reply->code[0] == '5' ? ACTION_REJECT_TEXT : ACTION_DEFER_TEXT,
                     reply->code[0] == '5' ? "5.7.1" : "4.7.1", reply);
        if (reply->dsn[0] != reply->code[0]) {
            buf_printf(warning, "status %s does not match reply code %s: using %c.%s",
                       reply->dsn, reply->code, reply->code[0], reply->dsn + 2);
            reply->dsn[0] = reply->code[0];
        }
        return reply->code[0] == '5';
    default:
        return -1;
    }
}
