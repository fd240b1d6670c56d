/*
 * milter_macro.c - a small name/value table for milter macros.
 *
 * A session holds a few dozen macros at most, so a flat array searched
 * linearly is the simplest thing that is fast enough.
 */
#include <string.h>

#include "libmatch/mem.h"
#include "mta-core/milter_macro.h"

struct milter_macro_entry {
    char *name;  /* canonical: "{name}" */
    char *value;
};

/* canonical - "{name}" for name, "{name}" or a single letter */
static void canonical(struct buf *out, const char *name, size_t len)
{
    buf_reset(out);
    if (len >= 2 && name[0] == '{' && name[len - 1] == '}') {
        buf_add(out, name, len);
    } else {
        buf_addch(out, '{');
        buf_add(out, name, len);
        buf_addch(out, '}');
    }
}

static struct milter_macro_entry *find(const struct milter_macros *t, const char *name,
                                       size_t len)
{
    struct buf key = BUF_INIT;
    struct milter_macro_entry *found = NULL;
    size_t i;

    canonical(&key, name, len);
    for (i = 0; i < t->n && found == NULL; i++)
        if (strcmp(t->v[i].name, key.data) == 0)
            found = &t->v[i];
    buf_free(&key);
    return found;
}

/* milter_macro_init - an empty table */
void milter_macro_init(struct milter_macros *t)
{
    t->v = NULL;
    t->n = t->cap = 0;
}

/* milter_macro_free - release the table's storage */
void milter_macro_free(struct milter_macros *t)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        mem_free(t->v[i].name);
        mem_free(t->v[i].value);
    }
    mem_free(t->v);
    milter_macro_init(t);
}

/* milter_macro_set - define name as value, or forget it when value is NULL */
void milter_macro_set(struct milter_macros *t, const char *name, const char *value)
{
    struct milter_macro_entry *e = find(t, name, strlen(name));
    struct buf key = BUF_INIT;

    if (e != NULL) {
        mem_free(e->value);
        if (value != NULL) {
            e->value = mem_strdup(value);
        } else {
            mem_free(e->name);
            *e = t->v[--t->n];
        }
        return;
    }
    if (value == NULL)
        return;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->v = mem_realloc_array(t->v, t->cap, sizeof(*t->v));
    }
    canonical(&key, name, strlen(name));
    t->v[t->n].name = buf_detach(&key, NULL);
    t->v[t->n].value = mem_strdup(value);
    t->n++;
}

/* milter_macro_get - the value of name, or NULL */
const char *milter_macro_get(const struct milter_macros *t, const char *name)
{
    struct milter_macro_entry *e = find(t, name, strlen(name));

    return e ? e->value : NULL;
}

/*
 * milter_macro_encode - append "name\0value\0" to out for each macro in the
 * space- or comma-separated names that has a value in t (or else in
 * defaults), with the name spelled as the list spells it.  Returns the
 * number of macros added.
 */
int milter_macro_encode(const struct milter_macros *t, const struct milter_macros *defaults,
                        const char *names, struct buf *out)
{
    const char *sep = " \t\r\n,";
    const char *cp = names;
    int count = 0;

    while (*(cp += strspn(cp, sep))) {
        size_t len = strcspn(cp, sep);
        struct milter_macro_entry *e = find(t, cp, len);

        if (e == NULL && defaults != NULL)
            e = find(defaults, cp, len);
        if (e != NULL) {
            buf_add(out, cp, len);
            buf_addch(out, 0);
            buf_add(out, e->value, strlen(e->value) + 1);
            count++;
        }
        cp += len;
    }
    return count;
}

/*
 * milter_macro_parse_defaults - Postfix's milter_macro_defaults: a list of
 * name=value, separated by white space or commas; "{ name = value }" when
 * the value has either of those in it.  The name may be braced: {name}=value.
 */
int milter_macro_parse_defaults(struct milter_macros *t, const char *spec, struct buf *err)
{
    const char *cp = spec;
    struct buf item = BUF_INIT;
    int ret = 0;

    while (ret == 0 && *(cp += strspn(cp, " \t\r\n,"))) {
        const char *eq;

        const char *close = *cp == '{' ? strchr(cp, '}') : NULL;

        buf_reset(&item);
        /* "{ name = value }" groups; "{name}=value" is a braced macro name. */
        if (*cp == '{' && !(close && close[1] == '=')) {
            if (close == NULL) {
                buf_printf(err, "missing '}' in milter_macro_defaults: \"%s\"", cp);
                ret = -1;
                break;
            }
            buf_add(&item, cp + 1, (size_t) (close - cp - 1));
            cp = close + 1;
        } else {
            size_t len = strcspn(cp, " \t\r\n,");

            buf_add(&item, cp, len);
            cp += len;
        }
        eq = strchr(item.data, '=');
        if (eq == NULL || eq == item.data) {
            buf_printf(err, "malformed milter_macro_defaults entry: \"%s\" (want name=value)",
                       item.data);
            ret = -1;
            break;
        }
        {
            struct buf name = BUF_INIT, value = BUF_INIT;

            buf_add(&name, item.data, (size_t) (eq - item.data));
            buf_trim(&name);
            buf_addstr(&value, eq + 1);
            buf_trim(&value);
            milter_macro_set(t, name.data, value.data);
            buf_free(&name);
            buf_free(&value);
        }
    }
    buf_free(&item);
    return ret;
}
