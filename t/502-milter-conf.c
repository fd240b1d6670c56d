/*
 * 502-milter-conf.c - smtpd_milters and the milter_* parameters: Postfix's
 * defaults, endpoints (unix, local, inet with a name, an IPv4 and an IPv6
 * address), per-milter settings in "{ endpoint, name=value }" form with
 * blanks around '=', protocol versions, default actions; every bad value
 * refused with a message that names it.  Also the macro table and
 * milter_macro_defaults.
 */
#include <string.h>

#include "libmatch/config.h"
#include "libmatch/mem.h"
#include "mta-core/milter_conf.h"
#include "mta-core/milter_macro.h"
#include "mta-core/params.h"
#include "t/lib/tap.h"

static struct milter_conf *conf_from(const char *milters, const char *extra, struct buf *err)
{
    struct config *cfg = config_new(mta_params);
    struct milter_conf *conf;
    struct buf set = BUF_INIT;

    buf_reset(err);
    buf_printf(&set, "smtpd_milters = %s", milters);
    if (config_set(cfg, "myhostname = mx.example.test", err) < 0 || config_set(cfg, set.data, err) < 0)
        bail("config_set: %s", err->data);
    if (extra && config_set(cfg, extra, err) < 0)
        bail("config_set: %s", err->data);
    conf = milter_conf_new(cfg, err);
    config_free(cfg);
    buf_free(&set);
    return conf;
}

static void refused(const char *milters, const char *extra, const char *want, const char *what)
{
    struct buf err = BUF_INIT;
    struct milter_conf *conf = conf_from(milters, extra, &err);

    ok(conf == NULL && strstr(err.data, want) != NULL, "%s: %s", what, err.data);
    milter_conf_unref(conf);
    buf_free(&err);
}

static void test_conf(void)
{
    struct buf err = BUF_INIT;
    struct milter_conf *conf;

    conf = conf_from("", NULL, &err);
    ok(conf && conf->n == 0, "no milters is fine");
    is_string(conf->macros[MILTER_STAGE_CONNECT], "j {daemon_name} {daemon_addr} v _",
              "Postfix's connect macros");
    is_string(conf->macros[MILTER_STAGE_EOM], "i", "Postfix's end-of-data macros");
    is_int(conf->body_limit, 10240000, "a replacement body may be as big as message_size_limit");
    is_string(milter_macro_get(&conf->fixed, "j"), "mx.example.test", "j is $myhostname");
    is_string(milter_macro_get(&conf->fixed, "{daemon_name}"), "mx.example.test",
              "{daemon_name} is $myhostname");
    milter_conf_unref(conf);

    conf = conf_from("unix:/run/a.sock, inet:localhost:8891 inet:[::1]:25,local:/x", NULL, &err);
    ok(conf && conf->n == 4, "four milters, commas and blanks both separate: %s", err.data);
    if (conf && conf->n == 4) {
        is_string(conf->v[0].path, "/run/a.sock", "unix path");
        is_string(conf->v[1].host, "localhost", "inet host");
        is_string(conf->v[1].port, "8891", "inet port");
        is_string(conf->v[2].host, "::1", "IPv6 address in brackets");
        is_string(conf->v[3].path, "/x", "local: is unix:");
        is_int(conf->v[0].default_action, MILTER_DEFAULT_TEMPFAIL, "default action tempfail");
        is_int(conf->v[0].command_timeout, 30, "command timeout 30s");
        is_int(conf->v[0].content_timeout, 300, "content timeout 300s");
        is_int(conf->v[0].connect_timeout, 30, "connect timeout 30s");
        is_int(conf->v[0].version, 6, "protocol 6");
        ok(conf->v[0].events & SMFIP_NR_BODY, "version 6 offers no-reply flags");
    }
    milter_conf_unref(conf);

    conf = conf_from("{ unix:/a, default_action=accept, command_timeout = 5s } "
                     "{inet:127.0.0.1:1 protocol=2 content_timeout= 1m} unix:/c",
                     "milter_default_action = reject", &err);
    ok(conf && conf->n == 3, "three milters with settings: %s", err.data);
    if (conf && conf->n == 3) {
        is_int(conf->v[0].default_action, MILTER_DEFAULT_ACCEPT, "per-milter default_action");
        is_int(conf->v[0].command_timeout, 5, "per-milter command_timeout with blanks");
        is_int(conf->v[1].version, 2, "per-milter protocol 2");
        ok(!(conf->v[1].events & SMFIP_NODATA), "version 2 does not offer DATA");
        is_int(conf->v[1].content_timeout, 60, "per-milter content_timeout in minutes");
        is_int(conf->v[1].default_action, MILTER_DEFAULT_REJECT, "global default_action");
        is_int(conf->v[2].default_action, MILTER_DEFAULT_REJECT, "global default_action again");
    }
    milter_conf_unref(conf);

    conf = conf_from("unix:/a", "milter_protocol = 4 no_header_reply", &err);
    ok(conf && conf->v[0].version == 4 && (conf->v[0].events & SMFIP_NR_HDR)
           && !(conf->v[0].events & SMFIP_NR_BODY), "protocol 4 with no_header_reply");
    milter_conf_unref(conf);

    refused("tcp:1.2.3.4:5", NULL, "invalid transport name \"tcp\"", "unknown transport");
    refused("/path/only", NULL, "needs transport:endpoint", "no transport");
    refused("inet:host", NULL, "want inet:host:port", "inet without port");
    refused("inet:host:http", NULL, "bad port", "named port");
    refused("{ unix:/a, default_action=maybe }", NULL, "unknown milter default action \"maybe\"",
            "bad per-milter default action");
    refused("{ unix:/a, bogus=1 }", NULL, "unknown parameter \"bogus\"", "unknown setting");
    refused("{ unix:/a, command_timeout }", NULL, "want name=value", "setting without value");
    refused("{ unix:/a", NULL, "missing '}'", "unbalanced brace");
    refused("{ }", NULL, "empty milter definition", "empty group");
    refused("unix:/a", "milter_protocol = 5", "bad milter protocol information", "protocol 5");
    refused("unix:/a", "milter_protocol = 6 4", "more than one milter protocol version",
            "two versions");
    refused("unix:/a", "milter_command_timeout = 0", "at least 1s", "zero timeout");
    refused("unix:/a", "milter_content_timeout = fast", "bad time parameter value", "bad time");
    refused("unix:/a", "milter_macro_defaults = novalue", "want name=value", "bad macro default");
    refused("unix:/a", "message_size_limit = lots", "bad numerical parameter value", "bad size limit");
    buf_free(&err);
}

static void test_macros(void)
{
    struct milter_macros t, d;
    struct buf out = BUF_INIT, err = BUF_INIT;
    static const char want[] = "j\0mx2\0{client_addr}\0" "192.0.2.1\0i\0ABC\0"
                               "{auth_type}\0none\0x\0a b\0";

    milter_macro_init(&t);
    milter_macro_init(&d);
    milter_macro_set(&t, "client_addr", "192.0.2.1");
    milter_macro_set(&t, "{i}", "ABC");
    milter_macro_set(&t, "j", "mx");
    is_string(milter_macro_get(&t, "{client_addr}"), "192.0.2.1", "braced and bare names are one");
    is_string(milter_macro_get(&t, "i"), "ABC", "single letters either way");
    milter_macro_set(&t, "j", "mx2");
    is_string(milter_macro_get(&t, "{j}"), "mx2", "set again replaces");
    ok(milter_macro_parse_defaults(&d, "{auth_type}=none, { x = a b }", &err) == 0,
       "milter_macro_defaults parsed");
    is_int(milter_macro_encode(&t, &d, "j {client_addr}, {missing} i {auth_type} x", &out), 5,
           "five of six macros have values");
    ok(out.len == sizeof(want) - 1 && memcmp(out.data, want, out.len) == 0,
       "names as the list spells them, defaults fill in");
    milter_macro_set(&t, "j", NULL);
    ok(milter_macro_get(&t, "j") == NULL, "NULL removes");
    milter_macro_free(&t);
    milter_macro_free(&d);
    buf_free(&out);
    buf_free(&err);
}

int main(void)
{
    test_conf();
    test_macros();
    return done_testing();
}
