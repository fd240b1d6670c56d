/*
 * milter_conf.h - which milters to use and how: smtpd_milters and the
 * milter_* parameters, with Postfix's names, defaults and syntax.
 *
 *   smtpd_milters = unix:/run/milterd.sock, inet:127.0.0.1:8891
 *   smtpd_milters = { inet:127.0.0.1:8891, default_action=accept, command_timeout=10s }
 *
 * A configuration is parsed once (at start and at reload) and shared,
 * reference-counted, by every SMTP session that uses it.  It trusts
 * nothing but the configuration file: every value is checked here, so a
 * session never meets a bad one.
 */
#ifndef MAILSIFT_MILTER_CONF_H
#define MAILSIFT_MILTER_CONF_H

#include <stdint.h>

#include "libmatch/buf.h"
#include "libmatch/config.h"
#include "mta-core/milter_macro.h"
#include "mta-core/milter_proto.h"

/* milter_default_action: what a milter that fails us stands for. */
enum milter_default {
    MILTER_DEFAULT_TEMPFAIL,   /* 451 4.7.1 (the default) */
    MILTER_DEFAULT_ACCEPT,     /* carry on without that milter */
    MILTER_DEFAULT_REJECT,     /* 550 5.5.0 */
    MILTER_DEFAULT_SHUTDOWN,   /* 421 4.7.1, and the SMTP session ends */
    MILTER_DEFAULT_QUARANTINE  /* accept, into the hold queue */
};

struct milter_spec {
    char *name;             /* as configured: "unix:/path", "inet:host:port" */
    char *path;             /* unix: the socket */
    char *host, *port;      /* inet */
    long connect_timeout;   /* seconds */
    long command_timeout;
    long content_timeout;
    enum milter_default default_action;
    int version;            /* protocol version we offer */
    uint32_t events;        /* SMFIP_* bits we offer */
};

struct milter_conf {
    int refs;
    struct milter_spec *v;
    size_t n;
    char *macros[MILTER_STAGE_COUNT]; /* macro names per stage */
    struct milter_macros fixed;       /* j, {daemon_name}, v */
    struct milter_macros defaults;    /* milter_macro_defaults */
    long body_limit;                  /* message_size_limit: a replacement body's limit */
};

struct milter_conf *milter_conf_new(struct config *cfg, struct buf *err);
struct milter_conf *milter_conf_new_list(struct config *cfg, const char *list_param, struct buf *err);
struct milter_conf *milter_conf_ref(struct milter_conf *conf);
void milter_conf_unref(struct milter_conf *conf);
const char *milter_conf_action_name(enum milter_default action);

#endif
