/*
 * alias_expand.c - recipient expansion: virtual_alias_maps (virtual(5),
 * with Sendmail virtusertable's %1 %2 %3), then for local domains
 * alias_maps (aliases(5): addresses, |command, /file, :include:, \user),
 * then the local user's mailbox; anything else is relayed.
 *
 * Semantics follow Postfix where it has them:
 *   - virtual lookups: user+ext@domain, user@domain (the unmatched
 *     extension is propagated to the result, propagate_unmatched_extensions
 *     = virtual), then for local domains user+ext and user, then @domain;
 *     a result equal to the address itself stops virtual expansion of it;
 *     a domain that is a key of its own is a virtual alias domain, where
 *     an address without an entry is unknown (5.1.1);
 *   - aliases: local part (with the extension, then without), case folded;
 *     an alias that names itself delivers to the mailbox (as sendmail);
 *     |command and /file run with the privileges of the alias file's owner
 *     unless that is root, then default_privs; an :include: file owned by
 *     an ordinary user runs with that user's; allow_mail_to_commands and
 *     allow_mail_to_files say where commands and files may come from;
 *   - a name that comes back while its own expansion is under way is a
 *     loop: "alias database loop for NAME" (5.4.6), instead of Postfix's
 *     blunter nesting limit of 100 (kept as ALIAS_DEPTH_MAX).
 *
 * Trust: map files and :include: files are administrators' or users';
 * their contents are bounded (ALIAS_INCLUDE_MAX, ALIAS_DEPTH_MAX,
 * ALIAS_TARGETS_MAX) and only ever produce targets, never run here.
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmatch/config.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/alias_expand.h"
#include "mta-core/alias_map.h"

#define ALIAS_FROM_ALIAS 1   /* allow_mail_to_*: "alias" */
#define ALIAS_FROM_INCLUDE 2 /* "include" */

struct alias_ctx {
    char **mydest;
    size_t nmydest;
    char *myorigin;
    char *delims;           /* recipient_delimiter characters, "" for none */
    int home_base;          /* users need no account */
    int privileged;         /* root and not home_base: commands get other uids */
    uid_t self_uid;
    gid_t self_gid;
    uid_t default_uid;      /* default_privs */
    gid_t default_gid;
    int cmd_allow;
    int file_allow;
    int propagate_virtual;
    struct alias_map *aliases;
    struct alias_map *virtual;
};

/* Where an alias value came from: whose privileges, which kind of source. */
struct alias_origin {
    uid_t uid;
    gid_t gid;
    int from;               /* ALIAS_FROM_ALIAS or ALIAS_FROM_INCLUDE */
};

/* The names being expanded right now, outermost first. */
struct alias_stack {
    const char *name[ALIAS_DEPTH_MAX + 2];
    int depth;
};

static void alias_lower(char *s)
{
    for (; *s; s++)
        *s = (char) tolower((unsigned char) *s);
}

/* alias_flags - "alias, forward, include" into ALIAS_FROM_* bits */
static int alias_flags(const char *value)
{
    int flags = 0;
    char *copy = mem_strdup(value ? value : "");
    char *save = NULL;
    char *tok;

    for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        if (strcasecmp(tok, "alias") == 0)
            flags |= ALIAS_FROM_ALIAS;
        else if (strcasecmp(tok, "include") == 0)
            flags |= ALIAS_FROM_INCLUDE;
        else if (strcasecmp(tok, "forward") != 0)
            msg_warn("unknown mail source \"%s\" in allow_mail_to_commands/allow_mail_to_files", tok);
    }
    mem_free(copy);
    return flags;
}

/* alias_conf_get - an expanded parameter, "" when unset */
static char *alias_conf_get(struct config *cfg, const char *name)
{
    const char *v = config_get(cfg, name);

    return mem_strdup(v ? v : "");
}

/* alias_init - expansion settings and maps from the configuration */
struct alias_ctx *alias_init(struct config *cfg, struct buf *err)
{
    struct alias_ctx *ctx = mem_zalloc(sizeof(*ctx));
    char *dest = alias_conf_get(cfg, "mydestination");
    char *hb = alias_conf_get(cfg, "home_base");
    char *privs = alias_conf_get(cfg, "default_privs");
    char *prop = alias_conf_get(cfg, "propagate_unmatched_extensions");
    char *amaps = alias_conf_get(cfg, "alias_maps");
    char *vmaps = alias_conf_get(cfg, "virtual_alias_maps");
    char *save = NULL;
    char *tok;
    struct passwd *pw;

    for (tok = strtok_r(dest, ", \t\n", &save); tok; tok = strtok_r(NULL, ", \t\n", &save)) {
        if (strchr(tok, '/') || strchr(tok, ':')) {
            msg_warn("mydestination: tables and files are not supported, ignoring \"%s\"", tok);
            continue;
        }
        ctx->mydest = mem_realloc_array(ctx->mydest, ctx->nmydest + 1, sizeof(*ctx->mydest));
        ctx->mydest[ctx->nmydest] = mem_strdup(tok);
        alias_lower(ctx->mydest[ctx->nmydest++]);
    }
    ctx->myorigin = alias_conf_get(cfg, "myorigin");
    alias_lower(ctx->myorigin);
    ctx->delims = alias_conf_get(cfg, "recipient_delimiter");
    ctx->home_base = hb[0] != 0;
    ctx->self_uid = getuid();
    ctx->self_gid = getgid();
    ctx->privileged = geteuid() == 0 && !ctx->home_base;
    ctx->default_uid = ctx->self_uid;
    ctx->default_gid = ctx->self_gid;
    if (ctx->privileged) {
        pw = getpwnam(privs);
        if (pw == NULL || pw->pw_uid == 0) {
            buf_printf(err, "default_privs: unknown or privileged user \"%s\"", privs);
            goto fail;
        }
        ctx->default_uid = pw->pw_uid;
        ctx->default_gid = pw->pw_gid;
    }
    ctx->cmd_allow = alias_flags(config_get(cfg, "allow_mail_to_commands"));
    ctx->file_allow = alias_flags(config_get(cfg, "allow_mail_to_files"));
    ctx->propagate_virtual = strstr(prop, "virtual") != NULL;
    if (amaps[0] && (ctx->aliases = alias_map_open(amaps, ALIAS_FORMAT_ALIASES, err)) == NULL)
        goto fail;
    if (vmaps[0] && (ctx->virtual = alias_map_open(vmaps, ALIAS_FORMAT_VIRTUAL, err)) == NULL)
        goto fail;
    mem_free(dest);
    mem_free(hb);
    mem_free(privs);
    mem_free(prop);
    mem_free(amaps);
    mem_free(vmaps);
    return ctx;

fail:
    mem_free(dest);
    mem_free(hb);
    mem_free(privs);
    mem_free(prop);
    mem_free(amaps);
    mem_free(vmaps);
    alias_free(ctx);
    return NULL;
}

/* alias_refresh - reload maps that changed (all with force); -1 with err when one could not be read */
int alias_refresh(struct alias_ctx *ctx, int force, struct buf *err)
{
    int rc = 0;

    if (ctx->aliases && alias_map_refresh(ctx->aliases, force, err) < 0)
        rc = -1;
    if (ctx->virtual && alias_map_refresh(ctx->virtual, force, err) < 0)
        rc = -1;
    return rc;
}

/* alias_free - release the settings and maps */
void alias_free(struct alias_ctx *ctx)
{
    size_t i;

    if (ctx == NULL)
        return;
    for (i = 0; i < ctx->nmydest; i++)
        mem_free(ctx->mydest[i]);
    mem_free(ctx->mydest);
    mem_free(ctx->myorigin);
    mem_free(ctx->delims);
    alias_map_free(ctx->aliases);
    alias_map_free(ctx->virtual);
    mem_free(ctx);
}

/* alias_is_local_domain - the domain is in mydestination (or is empty) */
int alias_is_local_domain(const struct alias_ctx *ctx, const char *domain)
{
    size_t i;

    if (domain == NULL || *domain == 0)
        return 1;
    for (i = 0; i < ctx->nmydest; i++)
        if (strcasecmp(ctx->mydest[i], domain) == 0)
            return 1;
    return 0;
}

/* alias_list_free - release a target list */
void alias_list_free(struct alias_list *list)
{
    size_t i;

    for (i = 0; i < list->n; i++) {
        mem_free(list->v[i].kind);
        mem_free(list->v[i].alias);
        mem_free(list->v[i].target);
        mem_free(list->v[i].dsn);
        mem_free(list->v[i].text);
    }
    mem_free(list->v);
    memset(list, 0, sizeof(*list));
}

/* alias_add - append a target unless an equal one is there; 1 when added */
static int alias_add(struct alias_list *out, const char *kind, uid_t uid, gid_t gid, const char *alias,
                     const char *target, const char *dsn, const char *text)
{
    struct alias_target *t;
    size_t i;

    for (i = 0; i < out->n; i++) {
        t = &out->v[i];
        if (strcmp(t->kind, kind) == 0 && strcmp(t->target, target) == 0 &&
            (strcmp(kind, "mailbox") == 0 || strcmp(kind, "relay") == 0 || (t->uid == uid && t->gid == gid)))
            return 0;
    }
    if (out->n == out->alloc) {
        out->alloc = out->alloc ? 2 * out->alloc : 8;
        out->v = mem_realloc_array(out->v, out->alloc, sizeof(*out->v));
    }
    t = &out->v[out->n++];
    t->kind = mem_strdup(kind);
    t->uid = uid;
    t->gid = gid;
    t->alias = mem_strdup(alias);
    t->target = mem_strdup(target);
    t->dsn = dsn ? mem_strdup(dsn) : NULL;
    t->text = text ? mem_strdup(text) : NULL;
    return 1;
}

/* alias_fail - a recipient that fails for good during expansion */
static void alias_fail(struct alias_ctx *ctx, struct alias_list *out, const char *addr, const char *domain,
                       const char *alias, const char *dsn, const char *text)
{
    alias_add(out, alias_is_local_domain(ctx, domain) ? "mailbox" : "relay", 0, 0, alias, addr, dsn, text);
}

/*
 * alias_split_list - the items of a right-hand side: separated by commas
 * outside double quotes, trimmed; an item quoted as a whole loses its quotes.
 */
static size_t alias_split_list(const char *value, char ***itemsp)
{
    char **items = NULL;
    size_t n = 0;
    const char *p = value;

    while (*p) {
        struct buf item = BUF_INIT;
        int quoted = 0;

        while (*p == ',' || isspace((unsigned char) *p))
            p++;
        if (*p == 0)
            break;
        for (; *p && (quoted || *p != ','); p++) {
            if (*p == '\\' && quoted && p[1]) {
                buf_addch(&item, *p++);
            } else if (*p == '"') {
                quoted = !quoted;
            }
            buf_addch(&item, *p);
        }
        buf_trim(&item);
        if (item.len >= 2 && item.data[0] == '"' && item.data[item.len - 1] == '"' &&
            memchr(item.data + 1, '"', item.len - 2) == NULL) {
            struct buf un = BUF_INIT;
            size_t i;

            for (i = 1; i + 1 < item.len; i++) {
                if (item.data[i] == '\\' && i + 2 < item.len)
                    i++;
                buf_addch(&un, item.data[i]);
            }
            buf_free(&item);
            item = un;
        }
        items = mem_realloc_array(items, n + 1, sizeof(*items));
        items[n++] = buf_detach(&item, NULL);
    }
    *itemsp = items;
    return n;
}

static void alias_items_free(char **items, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        mem_free(items[i]);
    mem_free(items);
}

/* An address taken apart. */
struct alias_addr {
    struct buf full;  /* local@domain, domain folded (local folded too when local) */
    struct buf local; /* with the extension */
    struct buf user;  /* without */
    struct buf ext;   /* the extension without its delimiter, "" when none */
    int delim;        /* the delimiter character, 0 when none */
    struct buf domain;
};

static void alias_addr_free(struct alias_addr *a)
{
    buf_free(&a->full);
    buf_free(&a->local);
    buf_free(&a->user);
    buf_free(&a->ext);
    buf_free(&a->domain);
}

/* alias_addr_parse - split an address; an empty domain becomes myorigin */
static void alias_addr_parse(struct alias_ctx *ctx, const char *addr, struct alias_addr *a)
{
    const char *start = addr;
    const char *end = addr + strlen(addr);
    const char *at;
    size_t i;

    memset(a, 0, sizeof(*a));
    buf_init(&a->full);
    buf_init(&a->local);
    buf_init(&a->user);
    buf_init(&a->ext);
    buf_init(&a->domain);
    if (*start == '<' && end > start && end[-1] == '>') {
        start++;
        end--;
    }
    at = NULL;
    for (const char *p = start; p < end; p++)
        if (*p == '@')
            at = p;
    if (at) {
        buf_add(&a->local, start, (size_t) (at - start));
        buf_add(&a->domain, at + 1, (size_t) (end - at - 1));
    } else {
        buf_add(&a->local, start, (size_t) (end - start));
    }
    if (a->domain.len == 0)
        buf_setstr(&a->domain, ctx->myorigin);
    alias_lower(a->domain.data);
    if (alias_is_local_domain(ctx, a->domain.data))
        alias_lower(a->local.data);
    buf_setstr(&a->user, a->local.data);
    /* user+ext: split at the first delimiter that is not the first character. */
    for (i = 1; ctx->delims[0] && i < a->local.len; i++) {
        if (strchr(ctx->delims, a->local.data[i])) {
            a->delim = a->local.data[i];
            buf_truncate(&a->user, i);
            buf_setstr(&a->ext, a->local.data + i + 1);
            break;
        }
    }
    buf_printf(&a->full, "%s@%s", a->local.data, a->domain.data);
}

static int alias_on_stack(const struct alias_stack *st, const char *name)
{
    int i;

    for (i = 0; i < st->depth; i++)
        if (strcasecmp(st->name[i], name) == 0)
            return 1;
    return 0;
}

static int alias_expand_addr(struct alias_ctx *ctx, const char *addr, const char *from, int flags,
                             struct alias_stack *st, struct alias_list *out, struct buf *err);

#define ALIAS_NO_VIRTUAL 1 /* no virtual aliasing (\\user, self-reference) */
#define ALIAS_NO_ALIAS 2   /* deliver to the mailbox (\user, self-reference) */

/* alias_virtual_subst - Sendmail's %1 (user), %2 (detail), %3 (+detail) and %% */
static void alias_virtual_subst(const char *item, const struct alias_addr *a, struct buf *out)
{
    const char *p;

    buf_reset(out);
    for (p = item; *p; p++) {
        if (*p == '%' && (p[1] == '1' || p[1] == '2' || p[1] == '3' || p[1] == '%')) {
            p++;
            if (*p == '1')
                buf_addstr(out, a->user.data);
            else if (*p == '2')
                buf_addstr(out, a->ext.data);
            else if (*p == '3') {
                if (a->delim) {
                    buf_addch(out, a->delim);
                    buf_addstr(out, a->ext.data);
                }
            } else
                buf_addch(out, '%');
        } else {
            buf_addch(out, *p);
        }
    }
}

/*
 * alias_virtual - 1 when a virtual alias entry applied (*self set when it
 * also gave the address itself back), 0 when none did, -1 temporary failure
 */
static int alias_virtual(struct alias_ctx *ctx, const struct alias_addr *a, const char *from,
                         struct alias_stack *st, struct alias_list *out, struct buf *err, int *self)
{
    struct alias_hit hit;
    struct buf key = BUF_INIT;
    struct buf item = BUF_INIT;
    char **items;
    size_t n, i;
    int rc = 0, propagate = 0, wildcard = 0;
    int local = alias_is_local_domain(ctx, a->domain.data);

    /* user+ext@domain, user@domain, [user+ext, user when local], @domain */
    rc = alias_map_lookup(ctx->virtual, a->full.data, ALIAS_MAP_FULL, &hit, err);
    if (rc == 0 && a->delim) {
        buf_printf(&key, "%s@%s", a->user.data, a->domain.data);
        rc = alias_map_lookup(ctx->virtual, key.data, ALIAS_MAP_FULL, &hit, err);
        propagate = rc > 0;
    }
    if (rc == 0 && local) {
        rc = alias_map_lookup(ctx->virtual, a->local.data, ALIAS_MAP_PARTIAL, &hit, err);
        if (rc == 0 && a->delim) {
            rc = alias_map_lookup(ctx->virtual, a->user.data, ALIAS_MAP_PARTIAL, &hit, err);
            propagate = rc > 0;
        }
    }
    if (rc == 0) {
        buf_reset(&key);
        buf_printf(&key, "@%s", a->domain.data);
        rc = alias_map_lookup(ctx->virtual, key.data, ALIAS_MAP_PARTIAL, &hit, err);
        wildcard = rc > 0;
    }
    if (rc < 0) {
        buf_free(&key);
        return -1;
    }
    if (rc == 0) {
        /* A virtual alias domain: its addresses must all be listed. */
        rc = alias_map_lookup(ctx->virtual, a->domain.data, ALIAS_MAP_PARTIAL, &hit, err);
        buf_free(&key);
        if (rc > 0) {
            alias_fail(ctx, out, a->full.data, a->domain.data, from, "5.1.1",
                       "User unknown in virtual alias table");
            return 1;
        }
        return rc;
    }
    if (!ctx->propagate_virtual || wildcard)
        propagate = 0;
    msg_debug("virtual: %s -> %s (%s, line %d)", a->full.data, hit.value, hit.file, hit.line);
    n = alias_split_list(hit.value, &items);
    for (i = 0; i < n && rc >= 0; i++) {
        struct alias_addr r;

        alias_virtual_subst(items[i], a, &item);
        /* "@otherdomain" as the first result: the same user there. */
        if (i == 0 && item.data[0] == '@') {
            buf_reset(&key);
            buf_printf(&key, "%s%s", a->local.data, item.data);
            buf_setstr(&item, key.data);
        } else if (propagate && strchr(item.data, '@')) {
            /* The unmatched extension goes onto the result's local part. */
            const char *at = strrchr(item.data, '@');

            buf_reset(&key);
            buf_add(&key, item.data, (size_t) (at - item.data));
            buf_printf(&key, "%c%s%s", a->delim, a->ext.data, at);
            buf_setstr(&item, key.data);
        }
        alias_addr_parse(ctx, item.data, &r);
        if (strcasecmp(r.full.data, a->full.data) == 0)
            *self = 1; /* delivered as is, by the caller */
        else
            rc = alias_expand_addr(ctx, r.full.data, a->full.data, 0, st, out, err);
        alias_addr_free(&r);
    }
    alias_items_free(items, n);
    buf_free(&key);
    buf_free(&item);
    return rc < 0 ? -1 : 1;
}

static int alias_items(struct alias_ctx *ctx, const struct alias_addr *a, const char *value,
                       const struct alias_origin *origin, struct alias_stack *st,
                       struct alias_list *out, struct buf *err);

/* alias_include - the items of an :include: file */
static int alias_include(struct alias_ctx *ctx, const struct alias_addr *a, const char *path,
                         const struct alias_origin *origin, struct alias_stack *st,
                         struct alias_list *out, struct buf *err)
{
    struct alias_origin inc = *origin;
    struct buf text = BUF_INIT;
    struct stat st_file;
    char chunk[4096];
    size_t got;
    FILE *fp;
    int rc;

    if (path[0] != '/') {
        alias_fail(ctx, out, a->full.data, a->domain.data, a->full.data, "5.3.5",
                   "mail system configuration error: :include: needs an absolute path");
        return 0;
    }
    if (alias_on_stack(st, path)) {
        alias_fail(ctx, out, a->full.data, a->domain.data, a->full.data, "5.4.6",
                   "alias database loop: :include: file includes itself");
        return 0;
    }
    fp = fopen(path, "r");
    if (fp == NULL || fstat(fileno(fp), &st_file) < 0) {
        int e = errno;

        if (fp)
            fclose(fp);
        if (e == ENOENT || e == EACCES) {
            struct buf why = BUF_INIT;

            buf_printf(&why, "cannot open include file %s: %s", path, strerror(e));
            alias_fail(ctx, out, a->full.data, a->domain.data, a->full.data, "5.3.5", why.data);
            buf_free(&why);
            return 0;
        }
        buf_printf(err, "cannot open include file %s: %s", path, strerror(e));
        return -1;
    }
    if (!S_ISREG(st_file.st_mode)) {
        fclose(fp);
        alias_fail(ctx, out, a->full.data, a->domain.data, a->full.data, "5.3.5",
                   "mail system configuration error: :include: file is not a regular file");
        return 0;
    }
    while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if (text.len + got > ALIAS_INCLUDE_MAX) {
            fclose(fp);
            buf_free(&text);
            alias_fail(ctx, out, a->full.data, a->domain.data, a->full.data, "5.3.5",
                       "mail system configuration error: :include: file too large");
            return 0;
        }
        buf_add(&text, chunk, got);
    }
    fclose(fp);
    /* An include file owned by an ordinary user runs with that user's rights. */
    inc.from = ALIAS_FROM_INCLUDE;
    if (ctx->privileged && st_file.st_uid != 0) {
        inc.uid = st_file.st_uid;
        inc.gid = st_file.st_gid;
    }
    st->name[st->depth++] = path;
    rc = 0;
    {
        /* One item per line or per comma; '#' lines are comments. */
        char *save = NULL;
        char *line;

        for (line = strtok_r(text.data, "\n", &save); line && rc >= 0; line = strtok_r(NULL, "\n", &save)) {
            char *p = line;

            while (isspace((unsigned char) *p))
                p++;
            if (*p == '#' || *p == 0)
                continue;
            rc = alias_items(ctx, a, p, &inc, st, out, err);
        }
    }
    st->depth--;
    buf_free(&text);
    return rc;
}

/* alias_items - deliver to each item of an alias value */
static int alias_items(struct alias_ctx *ctx, const struct alias_addr *a, const char *value,
                       const struct alias_origin *origin, struct alias_stack *st,
                       struct alias_list *out, struct buf *err)
{
    char **items;
    size_t n, i;
    int rc = 0;

    n = alias_split_list(value, &items);
    for (i = 0; i < n && rc >= 0; i++) {
        const char *item = items[i];

        if (out->n >= ALIAS_TARGETS_MAX) {
            alias_fail(ctx, out, a->full.data, a->domain.data, a->full.data, "5.3.4",
                       "alias expansion limit exceeded");
            break;
        }
        if (item[0] == '|') {
            if (ctx->cmd_allow & origin->from)
                alias_add(out, "command", origin->uid, origin->gid, a->full.data, item + 1, NULL, NULL);
            else
                alias_fail(ctx, out, a->full.data, a->domain.data, a->full.data, "5.7.1",
                           "mail to command is restricted");
        } else if (item[0] == '/') {
            if (ctx->file_allow & origin->from)
                alias_add(out, "file", origin->uid, origin->gid, a->full.data, item, NULL, NULL);
            else
                alias_fail(ctx, out, a->full.data, a->domain.data, a->full.data, "5.7.1",
                           "mail to file is restricted");
        } else if (strncasecmp(item, ":include:", 9) == 0) {
            rc = alias_include(ctx, a, item + 9, origin, st, out, err);
        } else if (item[0] == '\\') {
            struct alias_addr r;

            alias_addr_parse(ctx, item + 1, &r);
            rc = alias_expand_addr(ctx, r.full.data, a->full.data, ALIAS_NO_ALIAS | ALIAS_NO_VIRTUAL, st, out, err);
            alias_addr_free(&r);
        } else {
            struct alias_addr r;

            alias_addr_parse(ctx, item, &r);
            if (alias_is_local_domain(ctx, r.domain.data) &&
                (strcmp(r.local.data, a->local.data) == 0 ||
                 (a->delim && strcmp(r.local.data, a->user.data) == 0)))
                /* An alias that names itself: its mailbox, as sendmail does. */
                rc = alias_expand_addr(ctx, a->full.data, a->full.data, ALIAS_NO_ALIAS | ALIAS_NO_VIRTUAL, st,
                                       out, err);
            else
                rc = alias_expand_addr(ctx, r.full.data, a->full.data, 0, st, out, err);
            alias_addr_free(&r);
        }
    }
    alias_items_free(items, n);
    return rc;
}

/* alias_local - aliases, then the user's mailbox */
static int alias_local(struct alias_ctx *ctx, const struct alias_addr *a, const char *from, int flags,
                       struct alias_stack *st, struct alias_list *out, struct buf *err)
{
    struct alias_hit hit;
    struct alias_origin origin;
    const char *u = a->user.data;
    int rc = 0;

    if (!(flags & ALIAS_NO_ALIAS) && ctx->aliases) {
        rc = alias_map_lookup(ctx->aliases, a->local.data, ALIAS_MAP_PARTIAL, &hit, err);
        if (rc == 0 && a->delim)
            rc = alias_map_lookup(ctx->aliases, a->user.data, ALIAS_MAP_PARTIAL, &hit, err);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            char *value = mem_strdup(hit.value);

            msg_debug("alias: %s -> %s (%s, line %d)", a->full.data, value, hit.file, hit.line);
            origin.from = ALIAS_FROM_ALIAS;
            if (ctx->privileged) {
                origin.uid = hit.owner != 0 ? hit.owner : ctx->default_uid;
                origin.gid = hit.owner != 0 ? hit.owner_gid : ctx->default_gid;
            } else {
                origin.uid = ctx->self_uid;
                origin.gid = ctx->self_gid;
            }
            rc = alias_items(ctx, a, value, &origin, st, out, err);
            mem_free(value);
            return rc;
        }
    }
    /* The user's own mailbox. */
    if (*u == 0 || strchr(u, '/') || u[0] == '.' || strpbrk(u, " \t\r\n")) {
        alias_fail(ctx, out, a->full.data, a->domain.data, from, "5.1.3", "bad address syntax");
        return 0;
    }
    if (!ctx->home_base && getpwnam(u) == NULL) {
        struct buf why = BUF_INIT;

        buf_printf(&why, "unknown user: \"%s\"", u);
        alias_fail(ctx, out, a->full.data, a->domain.data, from, "5.1.1", why.data);
        buf_free(&why);
        return 0;
    }
    alias_add(out, "mailbox", 0, 0, from, a->full.data, NULL, NULL);
    return 0;
}

/* alias_expand_addr - one address, recursively */
static int alias_expand_addr(struct alias_ctx *ctx, const char *addr, const char *from, int flags,
                             struct alias_stack *st, struct alias_list *out, struct buf *err)
{
    struct alias_addr a;
    int rc = 0, self = 0;

    alias_addr_parse(ctx, addr, &a);
    if (st->depth > 0 && !(flags & ALIAS_NO_ALIAS) && alias_on_stack(st, a.full.data)) {
        struct buf why = BUF_INIT;

        buf_printf(&why, "alias database loop for %s", a.full.data);
        msg_warn("%s", why.data);
        alias_fail(ctx, out, a.full.data, a.domain.data, from, "5.4.6", why.data);
        buf_free(&why);
        alias_addr_free(&a);
        return 0;
    }
    if (st->depth >= ALIAS_DEPTH_MAX) {
        alias_fail(ctx, out, a.full.data, a.domain.data, from, "5.4.6", "recipient nesting limit exceeded");
        alias_addr_free(&a);
        return 0;
    }
    st->name[st->depth++] = a.full.data;
    if (ctx->virtual && !(flags & ALIAS_NO_VIRTUAL))
        rc = alias_virtual(ctx, &a, from, st, out, err, &self);
    if (rc > 0 && self && alias_map_lookup(ctx->virtual, a.domain.data, ALIAS_MAP_PARTIAL,
                                           &(struct alias_hit) {0}, err) > 0) {
        /* Given back as is, but in a virtual alias domain: nowhere to go. */
        alias_fail(ctx, out, a.full.data, a.domain.data, from, "5.1.1", "User unknown in virtual alias table");
    } else if (rc == 0 || (rc > 0 && self)) {
        if (alias_is_local_domain(ctx, a.domain.data))
            rc = alias_local(ctx, &a, from, flags, st, out, err);
        else
            alias_add(out, "relay", 0, 0, from, a.full.data, NULL, NULL);
    }
    st->depth--;
    alias_addr_free(&a);
    return rc < 0 ? -1 : 0;
}

/* alias_expand - the targets of one recipient, appended to out (see alias.h) */
int alias_expand(struct alias_ctx *ctx, const char *rcpt, struct alias_list *out, struct buf *err)
{
    struct alias_stack st;
    size_t before = out->n;
    int rc;

    st.depth = 0;
    rc = alias_expand_addr(ctx, rcpt, rcpt, 0, &st, out, err);
    if (rc < 0) {
        /* Nothing half-done: take back what this recipient added. */
        struct alias_list tail = {out->v + before, out->n - before, 0};
        size_t i;

        for (i = 0; i < tail.n; i++) {
            mem_free(tail.v[i].kind);
            mem_free(tail.v[i].alias);
            mem_free(tail.v[i].target);
            mem_free(tail.v[i].dsn);
            mem_free(tail.v[i].text);
        }
        out->n = before;
        return -1;
    }
    return 0;
}
