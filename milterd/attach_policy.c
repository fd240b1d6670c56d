/*
 * attach_policy.c - read an attachment policy file (attachment_policy(5)).
 *
 * One rule per logical line (lline_read: '#' comments, continuation lines
 * start with white space):
 *
 *     [!]CONDITION... ACTION [text]
 *     set NAME = VALUE
 *
 * A condition is a word (a flag: "encrypted"), or a word, an operator and
 * a value ("ext=exe,scr", "size>10M").  The first word that names an
 * action ends the conditions; the rest of the line is the action's text.
 * Every bad line is reported as "FILE, line N: problem" and the load
 * fails: a policy is all there or not used.
 *
 * What it trusts: the file is the administrator's, but it is checked
 * as if it were not (lengths, numbers, nothing fixed-size).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/lline.h"
#include "libmatch/mem.h"
#include "libmatch/mime_walk.h"
#include "milterd/attach_int.h"

/* The words of a policy file. */
static const struct {
    const char *word;
    enum attach_cond_kind kind;
    enum { ARG_NONE, ARG_LIST, ARG_NUMBER, ARG_OPTLIST } arg;
} policy_conds[] = {
    { "name", COND_NAME, ARG_LIST },
    { "ext", COND_EXT, ARG_LIST },
    { "type", COND_TYPE, ARG_LIST },
    { "magic", COND_MAGIC, ARG_LIST },
    { "disposition", COND_DISPOSITION, ARG_LIST },
    { "size", COND_SIZE, ARG_NUMBER },
    { "depth", COND_DEPTH, ARG_NUMBER },
    { "archive-depth", COND_ARCHIVE_DEPTH, ARG_NUMBER },
    { "malformed", COND_MALFORMED, ARG_OPTLIST },
    { "named", COND_NAMED, ARG_NONE },
    { "double-ext", COND_DOUBLE_EXT, ARG_NONE },
    { "bidi", COND_BIDI, ARG_NONE },
    { "in-archive", COND_IN_ARCHIVE, ARG_NONE },
    { "nested", COND_NESTED, ARG_NONE },
    { "archive", COND_ARCHIVE, ARG_NONE },
    { "encrypted", COND_ENCRYPTED, ARG_NONE },
    { "unscanned", COND_UNSCANNED, ARG_NONE },
    { "container", COND_CONTAINER, ARG_NONE },
};

static const struct {
    const char *word;
    enum attach_action action;
} policy_actions[] = {
    { "REJECT", ATTACH_REJECT }, { "HOLD", ATTACH_HOLD }, { "DISCARD", ATTACH_DISCARD },
    { "DEFER", ATTACH_DEFER },   { "WARN", ATTACH_WARN }, { "ACCEPT", ATTACH_ACCEPT },
};

/* attach_action_name - "REJECT", "HOLD", ... ("NONE" for ATTACH_NONE) */
const char *attach_action_name(enum attach_action action)
{
    size_t i;

    for (i = 0; i < sizeof(policy_actions) / sizeof(policy_actions[0]); i++)
        if (policy_actions[i].action == action)
            return policy_actions[i].word;
    return "NONE";
}

/* policy_error - one problem, one line of err */
static void __attribute__((format(printf, 4, 5)))
policy_error(struct buf *err, const char *path, int line, const char *fmt, ...)
{
    va_list ap;

    if (err->len > 0)
        buf_addch(err, '\n');
    buf_printf(err, "%s, line %d: ", path, line);
    va_start(ap, fmt);
    buf_vprintf(err, fmt, ap);
    va_end(ap);
}

/* policy_word_end - where the word at s ends (white space or the end) */
static const char *policy_word_end(const char *s)
{
    while (*s && !isspace((unsigned char) *s))
        s++;
    return s;
}

/* policy_action - the action the word [s, e) names, or -1 */
static int policy_action(const char *s, const char *e)
{
    size_t i, len = e - s;

    for (i = 0; i < sizeof(policy_actions) / sizeof(policy_actions[0]); i++)
        if (strlen(policy_actions[i].word) == len && strncasecmp(s, policy_actions[i].word, len) == 0)
            return (int) policy_actions[i].action;
    return -1;
}

/*
 * policy_number - a number with an optional k, M or G (powers of 1024);
 * advances *sp past it.  0 on success, -1 with why.
 */
static int policy_number(const char **sp, long long max, long long *value, const char **why)
{
    const char *s = *sp;
    char *end;
    long long v, mult = 1;

    if (!isdigit((unsigned char) *s)) {
        *why = "a number must follow";
        return -1;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno == ERANGE) {
        *why = "number too large";
        return -1;
    }
    switch (*end) {
    case 'k': case 'K': mult = 1024; end++; break;
    case 'm': case 'M': mult = 1024 * 1024; end++; break;
    case 'g': case 'G': mult = 1024 * 1024 * 1024; end++; break;
    default: break;
    }
    if (v > max / mult) {
        *why = "number too large";
        return -1;
    }
    *value = v * mult;
    *sp = end;
    return 0;
}

/*
 * policy_list - a comma-separated list of items, each bare (no white
 * space, comma or quote) or "quoted" (with \" and \\), up to white space.
 */
static int policy_list(const char **sp, struct attach_cond *cond, const char **why)
{
    const char *s = *sp;
    struct buf item = BUF_INIT;

    for (;;) {
        buf_reset(&item);
        if (*s == '"') {
            for (s++; *s && *s != '"'; s++) {
                if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
                    s++;
                buf_addch(&item, *s);
            }
            if (*s != '"') {
                *why = "missing closing quote";
                buf_free(&item);
                return -1;
            }
            s++;
        } else {
            while (*s && *s != ',' && *s != '"' && !isspace((unsigned char) *s))
                buf_addch(&item, *s++);
        }
        if (item.len == 0) {
            *why = "empty item in list";
            buf_free(&item);
            return -1;
        }
        cond->list = mem_realloc_array(cond->list, cond->nlist + 1, sizeof(*cond->list));
        cond->list[cond->nlist++] = buf_detach(&item, NULL);
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s && !isspace((unsigned char) *s)) {
            *why = "white space or a comma must follow an item";
            buf_free(&item);
            return -1;
        }
        break;
    }
    buf_free(&item);
    *sp = s;
    return 0;
}

/* policy_cond_free - release one condition's lists */
static void policy_cond_free(struct attach_cond *cond)
{
    size_t i;

    for (i = 0; i < cond->nlist; i++)
        mem_free(cond->list[i]);
    mem_free(cond->list);
}

/* policy_normalize - put list items in the form the matcher compares */
static int policy_normalize(struct attach_cond *cond, const char **why, const char **item)
{
    size_t i;
    char *p;

    for (i = 0; i < cond->nlist; i++) {
        *item = cond->list[i];
        switch (cond->kind) {
        case COND_NAME:
        case COND_EXT:
            p = cond->list[i];
            if (cond->kind == COND_EXT)
                while (*p == '.')
                    p++;
            if (*p == 0) {
                *why = "empty extension";
                return -1;
            }
            p = attach_fold(p);
            mem_free(cond->list[i]);
            cond->list[i] = p;
            break;
        case COND_TYPE:
        case COND_MAGIC:
        case COND_DISPOSITION:
            for (p = cond->list[i]; *p; p++)
                *p = tolower((unsigned char) *p);
            break;
        case COND_MALFORMED: {
            unsigned bit;

            for (bit = 1; bit & MIME_BAD_ALL; bit <<= 1)
                if (strcasecmp(cond->list[i], mime_bad_name(bit)) == 0)
                    break;
            if (!(bit & MIME_BAD_ALL)) {
                *why = "unknown kind of malformation (boundary, base64, encoding, duplicate, "
                       "conflict, names, header, truncated, nesting, parts)";
                return -1;
            }
            cond->bits |= bit;
            break;
        }
        default:
            break;
        }
    }
    return 0;
}

/* policy_cond - parse one condition at *sp; 0, or -1 with a message in err */
static int policy_cond(const char **sp, const char *e, struct attach_cond *cond, const char *path,
                       int line, struct buf *err)
{
    const char *s = *sp, *k, *why = NULL, *item = NULL;
    size_t i, klen;

    memset(cond, 0, sizeof(*cond));
    if (*s == '!') {
        cond->negate = 1;
        s++;
    }
    for (k = s; *s && (isalnum((unsigned char) *s) || *s == '-'); s++)
        ;
    klen = s - k;
    for (i = 0; i < sizeof(policy_conds) / sizeof(policy_conds[0]); i++)
        if (strlen(policy_conds[i].word) == klen && strncasecmp(k, policy_conds[i].word, klen) == 0)
            break;
    if (i == sizeof(policy_conds) / sizeof(policy_conds[0])) {
        policy_error(err, path, line, "unknown condition or action \"%.*s\"", (int) (e - *sp), *sp);
        return -1;
    }
    cond->kind = policy_conds[i].kind;
    switch (policy_conds[i].arg) {
    case ARG_NONE:
        if (s != e)
            why = "this condition takes no value";
        break;
    case ARG_OPTLIST:
        if (s == e) {
            cond->bits = MIME_BAD_ALL;
            break;
        }
        /* FALLTHROUGH */
    case ARG_LIST:
        if (*s != '=') {
            why = "'=' and a list of values must follow";
            break;
        }
        s++;
        if (policy_list(&s, cond, &why) == 0)
            (void) policy_normalize(cond, &why, &item);
        break;
    case ARG_NUMBER:
        if (s[0] == '<' && s[1] == '=')
            cond->op = OP_LE, s += 2;
        else if (s[0] == '>' && s[1] == '=')
            cond->op = OP_GE, s += 2;
        else if (s[0] == '<')
            cond->op = OP_LT, s++;
        else if (s[0] == '>')
            cond->op = OP_GT, s++;
        else if (s[0] == '=')
            cond->op = OP_EQ, s++;
        else {
            why = "an operator (= < > <= >=) and a number must follow";
            break;
        }
        if (policy_number(&s, ATTACH_SETTING_MAX, &cond->num, &why) == 0 && s != e)
            why = "unexpected text after the number";
        break;
    }
    if (why) {
        if (item)
            policy_error(err, path, line, "\"%.*s\": \"%s\": %s", (int) (e - *sp), *sp, item, why);
        else
            policy_error(err, path, line, "\"%.*s\": %s", (int) (e - *sp), *sp, why);
        policy_cond_free(cond);
        return -1;
    }
    /* A quoted list item may hold white space: the condition ends where it was parsed to. */
    *sp = s;
    return 0;
}

/* policy_setting - "set NAME = VALUE" */
static int policy_setting(struct attach_policy *policy, const char *s, const char *path, int line,
                          struct buf *err)
{
    static const struct {
        const char *name;
        long min;
        long max;
        size_t offset;
    } settings[] = {
        { "archive_depth", 0, 20, offsetof(struct attach_policy, archive_depth) },
        { "archive_members", 1, 1000000, offsetof(struct attach_policy, archive_members) },
        { "archive_size", 1024, ATTACH_SETTING_MAX, offsetof(struct attach_policy, archive_size) },
        { "parts", 1, 100000, offsetof(struct attach_policy, parts) },
        { "nesting", 1, 100, offsetof(struct attach_policy, nesting) },
    };
    const char *n, *why = NULL;
    size_t i, nlen;
    long long v;

    while (isspace((unsigned char) *s))
        s++;
    for (n = s; *s && (isalnum((unsigned char) *s) || *s == '_'); s++)
        ;
    nlen = s - n;
    for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
        if (strlen(settings[i].name) == nlen && strncmp(n, settings[i].name, nlen) == 0)
            break;
    if (i == sizeof(settings) / sizeof(settings[0])) {
        policy_error(err, path, line, "unknown setting \"%.*s\" (archive_depth, archive_members, "
                     "archive_size, parts, nesting)", (int) nlen, n);
        return -1;
    }
    while (isspace((unsigned char) *s))
        s++;
    if (*s++ != '=') {
        policy_error(err, path, line, "set %s: '=' and a value must follow", settings[i].name);
        return -1;
    }
    while (isspace((unsigned char) *s))
        s++;
    if (policy_number(&s, ATTACH_SETTING_MAX, &v, &why) < 0) {
        policy_error(err, path, line, "set %s: %s", settings[i].name, why);
        return -1;
    }
    while (isspace((unsigned char) *s))
        s++;
    if (*s) {
        policy_error(err, path, line, "set %s: unexpected text after the value", settings[i].name);
        return -1;
    }
    if (v < settings[i].min || v > settings[i].max) {
        policy_error(err, path, line, "set %s: %lld is out of range (%ld to %ld)", settings[i].name,
                     v, settings[i].min, settings[i].max);
        return -1;
    }
    *(long *) ((char *) policy + settings[i].offset) = (long) v;
    return 0;
}

/* policy_rule - one rule line; 0, or -1 with what is wrong in err */
static int policy_rule(struct attach_policy *policy, const char *s, const char *path, int line,
                       struct buf *err)
{
    struct attach_rule rule;
    const char *e;
    int action = -1;
    size_t i;

    memset(&rule, 0, sizeof(rule));
    buf_init(&rule.where);
    buf_init(&rule.text);
    while (*s) {
        while (isspace((unsigned char) *s))
            s++;
        if (*s == 0)
            break;
        e = policy_word_end(s);
        if ((action = policy_action(s, e)) >= 0) {
            buf_setstr(&rule.text, e);
            buf_trim(&rule.text);
            break;
        }
        rule.conds = mem_realloc_array(rule.conds, rule.nconds + 1, sizeof(*rule.conds));
        if (policy_cond(&s, e, &rule.conds[rule.nconds], path, line, err) < 0)
            goto bad;
        if (rule.conds[rule.nconds].kind == COND_MAGIC)
            policy->need_magic = 1;
        rule.nconds++;
    }
    if (action < 0) {
        policy_error(err, path, line, "no action: a rule ends with REJECT, HOLD, DISCARD, DEFER, "
                     "WARN or ACCEPT");
        goto bad;
    }
    rule.action = (enum attach_action) action;
    buf_printf(&rule.where, "%s:%d", path, line);
    policy->rules = mem_realloc_array(policy->rules, policy->nrules + 1, sizeof(*policy->rules));
    policy->rules[policy->nrules++] = rule;
    return 0;

bad:
    for (i = 0; i < rule.nconds; i++)
        policy_cond_free(&rule.conds[i]);
    mem_free(rule.conds);
    buf_free(&rule.where);
    buf_free(&rule.text);
    return -1;
}

/* attach_policy_load - read and check a policy file; NULL with "FILE, line N: reason" lines in err */
struct attach_policy *attach_policy_load(const char *path, struct buf *err)
{
    struct attach_policy *policy;
    struct buf line = BUF_INIT;
    FILE *fp;
    int lineno = 0, first = 0, bad = 0;

    if ((fp = fopen(path, "r")) == NULL) {
        buf_printf(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    policy = mem_zalloc(sizeof(*policy));
    policy->path = mem_strdup(path);
    policy->archive_depth = ATTACH_ARCHIVE_DEPTH;
    policy->archive_members = ATTACH_ARCHIVE_MEMBERS;
    policy->archive_size = ATTACH_ARCHIVE_SIZE;
    policy->parts = ATTACH_PARTS;
    policy->nesting = ATTACH_NESTING;
    while (lline_read(fp, path, &line, &lineno, &first, NULL, NULL) > 0) {
        if (strncasecmp(line.data, "set", 3) == 0 && isspace((unsigned char) line.data[3])) {
            if (policy_setting(policy, line.data + 4, path, first, err) < 0)
                bad = 1;
        } else if (policy_rule(policy, line.data, path, first, err) < 0) {
            bad = 1;
        }
    }
    if (ferror(fp)) {
        policy_error(err, path, lineno, "read error: %s", strerror(errno));
        bad = 1;
    }
    fclose(fp);
    buf_free(&line);
    /* Archives are told apart by their content: libmagic must work. */
    if (!bad && attach_magic_check(err) < 0)
        bad = 1;
    if (bad) {
        attach_policy_free(policy);
        return NULL;
    }
    return policy;
}

/* attach_policy_free - release a policy (NULL is fine) */
void attach_policy_free(struct attach_policy *policy)
{
    size_t i, j;

    if (policy == NULL)
        return;
    for (i = 0; i < policy->nrules; i++) {
        for (j = 0; j < policy->rules[i].nconds; j++)
            policy_cond_free(&policy->rules[i].conds[j]);
        mem_free(policy->rules[i].conds);
        buf_free(&policy->rules[i].where);
        buf_free(&policy->rules[i].text);
    }
    mem_free(policy->rules);
    mem_free(policy->path);
    mem_free(policy);
}

/* attach_policy_path - the file a policy was loaded from */
const char *attach_policy_path(const struct attach_policy *policy)
{
    return policy->path;
}
