/*
 * milter_conf.c - parse smtpd_milters and the milter_* parameters.
 *
 * The list syntax is Postfix's: milters separated by commas or white
 * space, each either an endpoint or "{ endpoint, name=value, ... }" where
 * name is a milter_* parameter without its "milter_" prefix
 * (connect_timeout, command_timeout, content_timeout, default_action,
 * protocol).  Errors read like Postfix's configuration errors.
 */
#include <ctype.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/milter_conf.h"

/* Postfix's milter parameters; mta-core's defaults are in params.c. */
static const char *const global_params[] = {
    "smtpd_milters", "milter_default_action", "milter_protocol", "milter_connect_timeout",
    "milter_command_timeout", "milter_content_timeout", "milter_connect_macros",
    "milter_helo_macros", "milter_mail_macros", "milter_rcpt_macros", "milter_data_macros",
    "milter_unknown_command_macros", "milter_end_of_header_macros", "milter_end_of_data_macros",
    "milter_macro_daemon_name", "milter_macro_v", "milter_macro_defaults", NULL,
};

/* The per-milter overrides, checked with libmatch's own parameter code. */
static const struct config_param override_params[] = {
    { "connect_timeout", "" },
    { "command_timeout", "" },
    { "content_timeout", "" },
    { "default_action", "" },
    { "protocol", "" },
    { NULL, NULL },
};

static const char *stage_params[MILTER_STAGE_COUNT] = {
    [MILTER_STAGE_CONNECT] = "milter_connect_macros",
    [MILTER_STAGE_HELO] = "milter_helo_macros",
    [MILTER_STAGE_MAIL] = "milter_mail_macros",
    [MILTER_STAGE_RCPT] = "milter_rcpt_macros",
    [MILTER_STAGE_DATA] = "milter_data_macros",
    [MILTER_STAGE_EOM] = "milter_end_of_data_macros",
    [MILTER_STAGE_EOH] = "milter_end_of_header_macros",
    [MILTER_STAGE_UNKNOWN] = "milter_unknown_command_macros",
};

/* milter_conf_action_name - the configuration word for a default action */
const char *milter_conf_action_name(enum milter_default action)
{
    switch (action) {
    case MILTER_DEFAULT_ACCEPT: return "accept";
    case MILTER_DEFAULT_REJECT: return "reject";
    case MILTER_DEFAULT_SHUTDOWN: return "shutdown";
    case MILTER_DEFAULT_QUARANTINE: return "quarantine";
    default: return "tempfail";
    }
}

static int parse_action(const char *s, enum milter_default *a, const char *what, struct buf *err)
{
    static const enum milter_default all[] = { MILTER_DEFAULT_TEMPFAIL, MILTER_DEFAULT_ACCEPT,
                                               MILTER_DEFAULT_REJECT, MILTER_DEFAULT_SHUTDOWN,
                                               MILTER_DEFAULT_QUARANTINE };
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcasecmp(s, milter_conf_action_name(all[i])) == 0) {
            *a = all[i];
            return 0;
        }
    }
    buf_printf(err, "%s: unknown milter default action \"%s\" (want tempfail, accept, reject, "
               "shutdown or quarantine)", what, s);
    return -1;
}

/* parse_protocol - "6", "4", "3", "2", optionally with "no_header_reply" */
static int parse_protocol(const char *s, int *version, uint32_t *events, const char *what,
                          struct buf *err)
{
    const char *sep = " \t,";
    const char *cp = s;

    *version = 0;
    *events = 0;
    while (*(cp += strspn(cp, sep))) {
        size_t len = strcspn(cp, sep);
        int v = 0;

        if (len == 15 && strncmp(cp, "no_header_reply", len) == 0)
            *events |= SMFIP_NR_HDR;
        else if (len == 1 && strchr("2346", *cp))
            v = *cp - '0';
        else {
            buf_printf(err, "%s: bad milter protocol information: \"%.*s\"", what, (int) len, cp);
            return -1;
        }
        if (v && *version) {
            buf_printf(err, "%s: more than one milter protocol version in \"%s\"", what, s);
            return -1;
        }
        if (v) {
            *version = v;
            *events |= milter_proto_version_events(v);
        }
        cp += len;
    }
    if (*version == 0) {
        buf_printf(err, "%s: no milter protocol version in \"%s\"", what, s);
        return -1;
    }
    return 0;
}

/* parse_endpoint - unix:/path, local:/path, inet:host:port, inet:[v6addr]:port */
static int parse_endpoint(struct milter_spec *sp, struct buf *err)
{
    const char *name = sp->name;
    const char *colon = strchr(name, ':');
    const char *ep;

    if (colon == NULL || colon[1] == 0 || colon == name) {
        buf_printf(err, "milter service needs transport:endpoint instead of \"%s\"", name);
        return -1;
    }
    ep = colon + 1;
    if (strncmp(name, "unix:", 5) == 0 || strncmp(name, "local:", 6) == 0) {
        sp->path = mem_strdup(ep);
        return 0;
    }
    if (strncmp(name, "inet:", 5) == 0) {
        const char *pcolon;
        const char *p;

        if (*ep == '[') {
            const char *close = strchr(ep, ']');

            if (close == NULL || close[1] != ':') {
                buf_printf(err, "bad inet milter endpoint \"%s\" (want inet:[address]:port)", name);
                return -1;
            }
            sp->host = mem_strndup(ep + 1, (size_t) (close - ep - 1));
            pcolon = close + 1;
        } else {
            pcolon = strrchr(ep, ':');
            if (pcolon == NULL || pcolon == ep) {
                buf_printf(err, "bad inet milter endpoint \"%s\" (want inet:host:port)", name);
                return -1;
            }
            sp->host = mem_strndup(ep, (size_t) (pcolon - ep));
        }
        for (p = pcolon + 1; *p; p++)
            if (!isdigit((unsigned char) *p))
                break;
        if (pcolon[1] == 0 || *p) {
            buf_printf(err, "bad port in inet milter endpoint \"%s\"", name);
            return -1;
        }
        sp->port = mem_strdup(pcolon + 1);
        return 0;
    }
    buf_printf(err, "invalid transport name \"%.*s\" in milter service \"%s\" (want unix or inet)",
               (int) (colon - name), name, name);
    return -1;
}

/* next_item - the next milter in the list: an endpoint or a { ... } group */
static int next_item(const char **cp, struct buf *item, struct buf *err)
{
    const char *sep = " \t\r\n,";
    const char *s = *cp + strspn(*cp, sep);

    buf_reset(item);
    if (*s == 0)
        return 0;
    if (*s == '{') {
        int depth = 0;
        const char *e;

        for (e = s; *e; e++) {
            if (*e == '{')
                depth++;
            else if (*e == '}' && --depth == 0)
                break;
        }
        if (*e != '}') {
            buf_printf(err, "smtpd_milters: missing '}' in \"%s\"", s);
            return -1;
        }
        buf_add(item, s, (size_t) (e + 1 - s));
        *cp = e + 1;
        return 1;
    }
    buf_add(item, s, strcspn(s, sep));
    *cp = s + item->len;
    return 1;
}

/*
 * parse_group - "{ endpoint, name=value ... }": the endpoint into sp, the
 * settings as overrides (blanks around '=' are allowed).
 */
static int parse_group(const char *group, struct milter_spec *sp, struct config *over,
                       struct buf *err)
{
    struct buf body = BUF_INIT, tok = BUF_INIT;
    const char *sep = " \t\r\n,";
    const char *cp;
    size_t i;
    int ret = 0;

    /* Drop the blanks next to '=' so that each setting is one token. */
    for (i = 1; i + 1 < strlen(group); i++) {
        char c = group[i];

        if ((c == ' ' || c == '\t')
            && ((body.len > 0 && body.data[body.len - 1] == '=')
                || group[i + strspn(group + i, " \t")] == '='))
            continue;
        buf_addch(&body, c);
    }
    cp = body.data;
    while (ret == 0 && *(cp += strspn(cp, sep))) {
        buf_reset(&tok);
        buf_add(&tok, cp, strcspn(cp, sep));
        cp += tok.len;
        if (sp->name == NULL) {
            sp->name = mem_strdup(tok.data);
        } else if (tok.data[0] == '=' || strchr(tok.data, '=') == NULL) {
            buf_printf(err, "smtpd_milters: bad setting \"%s\" for milter %s (want name=value)",
                       tok.data, sp->name);
            ret = -1;
        } else if (config_set(over, tok.data, err) < 0) {
            buf_printf(err, " (for milter %s)", sp->name);
            ret = -1;
        }
    }
    if (ret == 0 && sp->name == NULL) {
        buf_printf(err, "smtpd_milters: empty milter definition \"%s\"", group);
        ret = -1;
    }
    buf_free(&body);
    buf_free(&tok);
    return ret;
}

/* get_time - a time value that must be positive */
static int get_time(struct config *cfg, const char *name, long *v, struct buf *err)
{
    if (config_get_time(cfg, name, 's', v, err) < 0)
        return -1;
    if (*v < 1) {
        buf_printf(err, "%s must be at least 1s", name);
        return -1;
    }
    return 0;
}

static void spec_free(struct milter_spec *sp)
{
    mem_free(sp->name);
    mem_free(sp->path);
    mem_free(sp->host);
    mem_free(sp->port);
}

/* conf_free - release a configuration nobody uses any more */
static void conf_free(struct milter_conf *conf)
{
    size_t i;

    for (i = 0; i < conf->n; i++)
        spec_free(&conf->v[i]);
    mem_free(conf->v);
    for (i = 0; i < MILTER_STAGE_COUNT; i++)
        mem_free(conf->macros[i]);
    milter_macro_free(&conf->fixed);
    milter_macro_free(&conf->defaults);
    mem_free(conf);
}

/* parse_one - one smtpd_milters item, with the global settings as defaults */
static int parse_one(const char *item, const struct milter_spec *global, struct milter_spec *sp,
                     struct buf *err)
{
    struct config *over;
    const char *v;
    int ret = 0;

    *sp = *global;
    sp->name = sp->path = sp->host = sp->port = NULL;
    if (item[0] != '{') {
        sp->name = mem_strdup(item);
        return parse_endpoint(sp, err);
    }
    over = config_new(override_params);
    if (parse_group(item, sp, over, err) < 0 || parse_endpoint(sp, err) < 0
        || config_check(over, err) < 0)
        ret = -1;
    if (ret == 0 && *(v = config_get(over, "default_action")))
        ret = parse_action(v, &sp->default_action, sp->name, err);
    if (ret == 0 && *(v = config_get(over, "protocol")))
        ret = parse_protocol(v, &sp->version, &sp->events, sp->name, err);
    if (ret == 0 && *config_get(over, "connect_timeout"))
        ret = get_time(over, "connect_timeout", &sp->connect_timeout, err);
    if (ret == 0 && *config_get(over, "command_timeout"))
        ret = get_time(over, "command_timeout", &sp->command_timeout, err);
    if (ret == 0 && *config_get(over, "content_timeout"))
        ret = get_time(over, "content_timeout", &sp->content_timeout, err);
    config_free(over);
    return ret;
}

/*
 * milter_conf_new - the milter configuration from cfg (which must know
 * the milter_* parameters: mta-core's params.c).  NULL and a reason in err on a bad value; a
 * configuration with no milters (n == 0) is fine.
 */
struct milter_conf *milter_conf_new(struct config *cfg, struct buf *err)
{
    return milter_conf_new_list(cfg, "smtpd_milters", err);
}

/*
 * milter_conf_new_list - the same, with the milters of another list
 * parameter (non_smtpd_milters); the milter_* settings are shared.
 */
struct milter_conf *milter_conf_new_list(struct config *cfg, const char *list_param, struct buf *err)
{
    struct milter_conf *conf = mem_zalloc(sizeof(*conf));
    struct milter_spec global;
    struct buf list = BUF_INIT, item = BUF_INIT;
    const char *cp;
    int i, r, ret = 0;

    conf->refs = 1;
    milter_macro_init(&conf->fixed);
    milter_macro_init(&conf->defaults);
    memset(&global, 0, sizeof(global));
    for (i = 0; global_params[i]; i++) {
        if (config_get(cfg, global_params[i]) == NULL) {
            buf_printf(err, "parameter %s is not known to this program", global_params[i]);
            conf_free(conf);
            return NULL;
        }
    }
    if (config_get(cfg, "message_size_limit") != NULL) {
        long limit;

        if (config_get_int(cfg, "message_size_limit", 0, LONG_MAX, &limit, err) < 0) {
            conf_free(conf);
            return NULL;
        }
        conf->body_limit = limit;
    }
    if (parse_action(config_get(cfg, "milter_default_action"), &global.default_action,
                     "milter_default_action", err) < 0
        || parse_protocol(config_get(cfg, "milter_protocol"), &global.version, &global.events,
                          "milter_protocol", err) < 0
        || get_time(cfg, "milter_connect_timeout", &global.connect_timeout, err) < 0
        || get_time(cfg, "milter_command_timeout", &global.command_timeout, err) < 0
        || get_time(cfg, "milter_content_timeout", &global.content_timeout, err) < 0
        || milter_macro_parse_defaults(&conf->defaults, config_get(cfg, "milter_macro_defaults"),
                                       err) < 0) {
        conf_free(conf);
        return NULL;
    }
    for (i = 0; i < MILTER_STAGE_COUNT; i++)
        conf->macros[i] = mem_strdup(config_get(cfg, stage_params[i]));
    milter_macro_set(&conf->fixed, "{daemon_name}", config_get(cfg, "milter_macro_daemon_name"));
    milter_macro_set(&conf->fixed, "v", config_get(cfg, "milter_macro_v"));
    if (config_get(cfg, "myhostname"))
        milter_macro_set(&conf->fixed, "j", config_get(cfg, "myhostname"));

    buf_addstr(&list, config_get(cfg, list_param));
    cp = list.data;
    while ((r = next_item(&cp, &item, err)) > 0) {
        conf->v = mem_realloc_array(conf->v, conf->n + 1, sizeof(*conf->v));
        if (parse_one(item.data, &global, &conf->v[conf->n], err) < 0) {
            spec_free(&conf->v[conf->n]);
            ret = -1;
            break;
        }
        conf->n++;
    }
    if (r < 0)
        ret = -1;
    buf_free(&list);
    buf_free(&item);
    if (ret < 0) {
        conf_free(conf);
        return NULL;
    }
    return conf;
}

/* milter_conf_ref - one more user of conf */
struct milter_conf *milter_conf_ref(struct milter_conf *conf)
{
    conf->refs++;
    return conf;
}

/* milter_conf_unref - one user less; the last one frees it */
void milter_conf_unref(struct milter_conf *conf)
{
    if (conf != NULL && --conf->refs == 0)
        conf_free(conf);
}
