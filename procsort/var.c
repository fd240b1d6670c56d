/*
 * var.c - procmailrc variables: the environment plus procmail's internal
 * copies of a few numeric and text settings (see var.h).
 *
 * Trusts its callers to pass NUL-terminated names made of letters, digits
 * and underscores; values may be anything without a NUL.
 */
#include <stdlib.h>
#include <string.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "procsort/var.h"

struct var_numeric {
    const char *name;
    long defval;
    long value;
};

struct var_text {
    const char *name;
    const char *defval;
    char *value; /* NULL until assigned */
};

/* procmail 3.22's defaults (config.h). */
static struct var_numeric var_numerics[] = {
    { "LOCKSLEEP", 8, 8 },
    { "LOCKTIMEOUT", 1024, 1024 },
    { "SUSPEND", 16, 16 },
    { "NORESRETRY", 4, 4 },
    { "TIMEOUT", 1024 - 64, 1024 - 64 },
    { "VERBOSE", 0, 0 },
    { "LOGABSTRACT", -1, -1 },
};

static struct var_text var_texts[] = {
    { "SHELLMETAS", "&|<>~;?*[", 0 },
    { "LOCKEXT", ".lock", 0 },
    { "MSGPREFIX", "msg.", 0 },
    { "TRAP", "", 0 },
    { "SHELLFLAGS", "-c", 0 },
    { "SENDMAIL", "/usr/sbin/sendmail", 0 },
    { "SENDMAILFLAGS", "-oi", 0 },
    { "DEFAULT", "", 0 },
};

#define VAR_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* var_get - a variable's value, NULL when unset */
const char *var_get(const char *name)
{
    return getenv(name);
}

/* var_get_or - a variable's value, or defval when unset */
const char *var_get_or(const char *name, const char *defval)
{
    const char *value = getenv(name);

    return value ? value : defval;
}

/* var_parse_num - read a number or a boolean word as procmail does */
long var_parse_num(const char *text, long defval)
{
    const char *p = text;
    char *end;
    long value;

    value = strtol(text, &end, 10);
    if (end != text)
        return value;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\v' || *p == '\f' || *p == '\r')
        p++;
    switch (*p) {
    case 'o':
    case 'O':
        if (p[1] == 'n' || p[1] == 'N')
            return 1;
        if ((p[1] == 'f' || p[1] == 'F') && (p[2] == 'f' || p[2] == 'F'))
            return 0;
        return defval;
    case 'y': case 'Y': case 't': case 'T': case 'e': case 'E':
        return 1;
    case 'n': case 'N': case 'f': case 'F': case 'd': case 'D':
        return 0;
    case 'a': case 'A':
        return 2;
    default:
        return defval;
    }
}

/* var_set - assign a variable (environment and internal copy) */
void var_set(const char *name, const char *value)
{
    size_t i;

    if (setenv(name, value, 1) != 0)
        msg_fatal("cannot set variable %s: out of memory", name);
    for (i = 0; i < VAR_COUNT(var_numerics); i++)
        if (strcmp(name, var_numerics[i].name) == 0)
            var_numerics[i].value = var_parse_num(value, var_numerics[i].value);
    for (i = 0; i < VAR_COUNT(var_texts); i++)
        if (strcmp(name, var_texts[i].name) == 0) {
            mem_free(var_texts[i].value);
            var_texts[i].value = mem_strdup(value);
        }
}

/*
 * var_unset - remove a variable from the environment; a text setting's
 * internal copy becomes empty (procmail hands an empty value to its
 * assignment code), a numeric one keeps its value
 */
void var_unset(const char *name)
{
    size_t i;

    unsetenv(name);
    for (i = 0; i < VAR_COUNT(var_texts); i++)
        if (strcmp(name, var_texts[i].name) == 0) {
            mem_free(var_texts[i].value);
            var_texts[i].value = mem_strdup("");
        }
}

/*
 * var_set_internal - change a text setting's internal copy alone (procmail
 * empties DEFAULT's when the system mailbox is unfit, and leaves $DEFAULT)
 */
void var_set_internal(const char *name, const char *value)
{
    size_t i;

    for (i = 0; i < VAR_COUNT(var_texts); i++)
        if (strcmp(name, var_texts[i].name) == 0) {
            mem_free(var_texts[i].value);
            var_texts[i].value = mem_strdup(value);
            return;
        }
    msg_panic("var_set_internal: %s is not a text setting", name);
}

/* var_num - the internal value of a numeric setting (LOCKSLEEP, ...) */
long var_num(const char *name)
{
    size_t i;

    for (i = 0; i < VAR_COUNT(var_numerics); i++)
        if (strcmp(name, var_numerics[i].name) == 0)
            return var_numerics[i].value;
    msg_panic("var_num: %s is not a numeric setting", name);
}

/* var_str - the internal value of a text setting (LOCKEXT, SENDMAIL, ...) */
const char *var_str(const char *name)
{
    size_t i;

    for (i = 0; i < VAR_COUNT(var_texts); i++)
        if (strcmp(name, var_texts[i].name) == 0)
            return var_texts[i].value ? var_texts[i].value : var_texts[i].defval;
    msg_panic("var_str: %s is not a text setting", name);
}

/* var_name_char - may ch appear in a variable name (first: at its start)? */
int var_name_char(int ch, int first)
{
    if (ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
        return 1;
    return !first && ch >= '0' && ch <= '9';
}

/* var_reset_internal - back to procmail's defaults (for tests) */
void var_reset_internal(void)
{
    size_t i;

    for (i = 0; i < VAR_COUNT(var_numerics); i++)
        var_numerics[i].value = var_numerics[i].defval;
    for (i = 0; i < VAR_COUNT(var_texts); i++) {
        mem_free(var_texts[i].value);
        var_texts[i].value = 0;
    }
}
