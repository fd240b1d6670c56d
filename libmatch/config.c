/*
 * config.c - main.cf-style configuration files and -o overrides.
 *
 * Values are stored as written and expanded when read, as Postfix does, so
 * that "mydomain = example.com" after "myorigin = $mydomain" still works.
 * Later settings of a name replace earlier ones; -o overrides replace both.
 * A name nobody knows is an error at config_check() time naming its line,
 * so a typo in a parameter does not silently keep the default.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/config.h"
#include "libmatch/lline.h"
#include "libmatch/mem.h"

#define CONFIG_MAX_DEPTH 100 /* nesting of $name in $name */

struct config_entry {
    char *name;
    char *value;
    char *where; /* "file, line N" or "-o" */
};

struct config {
    const struct config_param *known;
    struct config_entry *entries;
    size_t count;
    size_t alloc;
    struct buf scratch; /* holds the last config_get() result */
};

/* config_new - empty configuration over a table of known parameters */
struct config *config_new(const struct config_param *known)
{
    struct config *cfg = mem_zalloc(sizeof(*cfg));

    cfg->known = known;
    buf_init(&cfg->scratch);
    return cfg;
}

/* config_free - release everything */
void config_free(struct config *cfg)
{
    size_t i;

    for (i = 0; i < cfg->count; i++) {
        mem_free(cfg->entries[i].name);
        mem_free(cfg->entries[i].value);
        mem_free(cfg->entries[i].where);
    }
    mem_free(cfg->entries);
    buf_free(&cfg->scratch);
    mem_free(cfg);
}

static struct config_entry *config_find(const struct config *cfg, const char *name, size_t len)
{
    size_t i;

    for (i = cfg->count; i-- > 0;)
        if (strlen(cfg->entries[i].name) == len && strncmp(cfg->entries[i].name, name, len) == 0)
            return &cfg->entries[i];
    return NULL;
}

static const struct config_param *config_known(const struct config *cfg, const char *name, size_t len)
{
    const struct config_param *p;

    for (p = cfg->known; p && p->name; p++)
        if (strlen(p->name) == len && strncmp(p->name, name, len) == 0)
            return p;
    return NULL;
}

static void config_store(struct config *cfg, const char *name, size_t nlen,
                         const char *value, const char *where)
{
    struct config_entry *e = config_find(cfg, name, nlen);

    if (e == NULL) {
        if (cfg->count == cfg->alloc) {
            cfg->alloc = cfg->alloc ? 2 * cfg->alloc : 32;
            cfg->entries = mem_realloc_array(cfg->entries, cfg->alloc, sizeof(*cfg->entries));
        }
        e = &cfg->entries[cfg->count++];
        e->name = mem_strndup(name, nlen);
    } else {
        mem_free(e->value);
        mem_free(e->where);
    }
    e->value = mem_strdup(value);
    e->where = mem_strdup(where);
}

/* config_parse_line - "name = value"; 0 on success, -1 with err set */
static int config_parse_line(struct config *cfg, const char *line, const char *where, struct buf *err)
{
    const char *p = line;
    const char *name = p;
    size_t nlen;
    struct buf value = BUF_INIT;

    while (isalnum((unsigned char) *p) || *p == '_' || *p == '-' || *p == '.')
        p++;
    nlen = (size_t) (p - name);
    while (isspace((unsigned char) *p))
        p++;
    if (nlen == 0 || *p != '=') {
        buf_printf(err, "%s: missing '=' after parameter name: \"%.40s\"", where, line);
        return -1;
    }
    p++;
    buf_setstr(&value, p);
    buf_trim(&value);
    config_store(cfg, name, nlen, value.data, where);
    buf_free(&value);
    return 0;
}

/*
 * config_load - read a file.  Returns 0, or -1 with "file, line N: reason"
 * in err (every bad line is reported, one per line, and the good lines are
 * still stored).
 */
int config_load(struct config *cfg, const char *path, struct buf *err)
{
    FILE *fp = fopen(path, "r");
    struct buf line = BUF_INIT;
    struct buf where = BUF_INIT;
    int lineno = 0, first = 0, status = 0;

    if (fp == NULL) {
        buf_printf(err, "open %s: %s", path, strerror(errno));
        return -1;
    }
    while (lline_read(fp, path, &line, &lineno, &first, NULL, NULL)) {
        buf_reset(&where);
        buf_printf(&where, "%s, line %d", path, first);
        if (config_parse_line(cfg, line.data, where.data, err) < 0) {
            buf_addch(err, '\n');
            status = -1;
        }
    }
    if (ferror(fp)) {
        buf_printf(err, "read %s: %s\n", path, strerror(errno));
        status = -1;
    }
    fclose(fp);
    buf_free(&line);
    buf_free(&where);
    if (status < 0 && err->len && err->data[err->len - 1] == '\n')
        buf_truncate(err, err->len - 1);
    return status;
}

/* config_set - apply one "name=value" override (-o) */
int config_set(struct config *cfg, const char *assignment, struct buf *err)
{
    return config_parse_line(cfg, assignment, "-o", err);
}

/* config_check - every name set must be a known parameter */
int config_check(const struct config *cfg, struct buf *err)
{
    size_t i;
    int status = 0;

    for (i = 0; i < cfg->count; i++) {
        const struct config_entry *e = &cfg->entries[i];

        if (config_known(cfg, e->name, strlen(e->name)) == NULL) {
            if (status < 0)
                buf_addch(err, '\n');
            buf_printf(err, "%s: unknown parameter \"%s\"", e->where, e->name);
            status = -1;
        }
    }
    return status;
}

static const char *config_raw(const struct config *cfg, const char *name, size_t len)
{
    const struct config_entry *e = config_find(cfg, name, len);
    const struct config_param *p;

    if (e)
        return e->value;
    p = config_known(cfg, name, len);
    return p ? p->defval : NULL;
}

static int config_expand_depth(struct config *cfg, const char *text, struct buf *out,
                               struct buf *err, int depth)
{
    const char *p = text;

    if (depth > CONFIG_MAX_DEPTH) {
        buf_printf(err, "parameter expansion nested deeper than %d: \"%.40s\"",
                   CONFIG_MAX_DEPTH, text);
        return -1;
    }
    while (*p) {
        const char *name, *alt = NULL, *value;
        size_t nlen, alen = 0;
        int op = 0;

        if (*p != '$') {
            buf_addch(out, *p++);
            continue;
        }
        p++;
        if (*p == '$') {
            buf_addch(out, *p++);
            continue;
        }
        if (*p == '{' || *p == '(') {
            char open = *p, close = *p == '{' ? '}' : ')';
            const char *end = p + 1;
            int nest = 1;

            /* The matching close, so that ${a?${b}} nests. */
            for (; *end; end++) {
                if (*end == open)
                    nest++;
                else if (*end == close && --nest == 0)
                    break;
            }
            if (*end == 0) {
                buf_printf(err, "unmatched '%c' in \"%.40s\"", *p, text);
                return -1;
            }
            name = ++p;
            while (isalnum((unsigned char) *p) || *p == '_')
                p++;
            nlen = (size_t) (p - name);
            if (*p == '?' || *p == ':') {
                op = *p++;
                alt = p;
                alen = (size_t) (end - p);
            } else if (p != end) {
                buf_printf(err, "bad parameter name in \"%.40s\"", text);
                return -1;
            }
            p = end + 1;
        } else {
            name = p;
            while (isalnum((unsigned char) *p) || *p == '_')
                p++;
            nlen = (size_t) (p - name);
            if (nlen == 0) {
                buf_printf(err, "'$' not followed by a name in \"%.40s\"", text);
                return -1;
            }
        }
        value = config_raw(cfg, name, nlen);
        if (op) {
            int defined = value != NULL && *value != 0;

            if ((op == '?') == defined) {
                char *copy = mem_strndup(alt, alen);
                int rc = config_expand_depth(cfg, copy, out, err, depth + 1);

                mem_free(copy);
                if (rc < 0)
                    return -1;
            }
            continue;
        }
        if (value && config_expand_depth(cfg, value, out, err, depth + 1) < 0)
            return -1;
    }
    return 0;
}

/* config_expand - expand $names in text, appending to out */
int config_expand(struct config *cfg, const char *text, struct buf *out, struct buf *err)
{
    return config_expand_depth(cfg, text, out, err, 0);
}

/*
 * config_get - the expanded value, or NULL when the parameter is neither
 * set nor known.  The result stays valid until the next config_get().  An
 * expansion error leaves the raw value in place; callers that must report
 * it use config_expand().
 */
const char *config_get(struct config *cfg, const char *name)
{
    const char *raw = config_raw(cfg, name, strlen(name));
    struct buf err = BUF_INIT;

    if (raw == NULL)
        return NULL;
    buf_reset(&cfg->scratch);
    if (config_expand(cfg, raw, &cfg->scratch, &err) < 0)
        buf_setstr(&cfg->scratch, raw);
    buf_free(&err);
    return cfg->scratch.data;
}

/*
 * config_get_raw - the value as written, without $name expansion, or NULL
 * when the parameter is neither set nor known.  For Postfix's "raw"
 * parameters, such as mailbox_command, whose $names are meant for the
 * shell that runs them ($EXTENSION, $RECIPIENT), not for main.cf.
 */
const char *config_get_raw(const struct config *cfg, const char *name)
{
    return config_raw(cfg, name, strlen(name));
}

/* config_get_int - an integer within [min, max] */
int config_get_int(struct config *cfg, const char *name, long min, long max, long *value, struct buf *err)
{
    const char *s = config_get(cfg, name);
    char *end;
    long v;

    if (s == NULL) {
        buf_printf(err, "parameter %s is not set", name);
        return -1;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        buf_printf(err, "bad numerical parameter value: %s = %s (want %ld..%ld)", name, s, min, max);
        return -1;
    }
    *value = v;
    return 0;
}

/* config_get_bool - yes/no/true/false/1/0/on/off */
int config_get_bool(struct config *cfg, const char *name, int *value, struct buf *err)
{
    const char *s = config_get(cfg, name);

    if (s && (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "on")))
        *value = 1;
    else if (s && (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "off")))
        *value = 0;
    else {
        buf_printf(err, "bad boolean parameter value: %s = %s", name, s ? s : "(unset)");
        return -1;
    }
    return 0;
}

/*
 * config_get_time - a time with Postfix's units (s m h d w); a bare number
 * is in the parameter's default unit ('s', 'm', ...).
 */
int config_get_time(struct config *cfg, const char *name, int unit, long *seconds, struct buf *err)
{
    const char *s = config_get(cfg, name);
    char *end;
    long v, mul;
    int u;

    if (s == NULL) {
        buf_printf(err, "parameter %s is not set", name);
        return -1;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    u = *end ? *end : unit;
    switch (u) {
    case 's':
        mul = 1;
        break;
    case 'm':
        mul = 60;
        break;
    case 'h':
        mul = 3600;
        break;
    case 'd':
        mul = 86400;
        break;
    case 'w':
        mul = 604800;
        break;
    default:
        mul = 0;
    }
    if (errno || end == s || (*end && end[1]) || mul == 0 || v < 0 || v > LONG_MAX / mul) {
        buf_printf(err, "bad time parameter value: %s = %s", name, s);
        return -1;
    }
    *seconds = v * mul;
    return 0;
}
