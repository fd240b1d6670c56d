/*
 * smtp_transport.c - the "relay" transport: the SMTP client's settings
 * (read once, in the daemon, before any delivery process is forked), the
 * batching key that lets one delivery carry several recipients of a
 * message, and the delivery itself in the delivery process.
 *
 * Settings: default_transport (smtp, or error[:text] to bounce everything),
 * relayhost, smtp_tcp_port, smtp_helo_name, smtp_host_lookup, inet_protocols,
 * smtp_address_preference, smtp_mx_address_limit, smtp_mx_session_limit,
 * smtp_destination_recipient_limit, smtp_*_timeout, smtp_tls_security_level,
 * smtp_always_send_ehlo, smtp_never_send_ehlo, smtp_skip_5xx_greeting,
 * smtp_line_length_limit, disable_mime_output_conversion, the masquerade_*
 * parameters, and dns_server_address (tests only); mta-core.conf(5).
 *
 * Trusts: the configuration; the queue file (read by the queue manager).
 */
#include <errno.h>
#include <grp.h>
#include <openssl/ssl.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "libmatch/config.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/dns_lookup.h"
#include "mta-core/qmgr_transport.h"
#include "mta-core/queue.h"
#include "mta-core/smtp_transport.h"

static struct smtp_conf smtp_transport_conf;
static char *smtp_transport_owner;
static char *smtp_transport_error; /* default_transport = error:TEXT: the text; NULL for smtp */

/* smtp_conf_time - a time parameter */
static int smtp_conf_time(struct config *cfg, const char *name, long *v, struct buf *err)
{
    return config_get_time(cfg, name, 's', v, err);
}

/* smtp_conf_init - read the SMTP client's parameters; -1 with err */
int smtp_conf_init(struct smtp_conf *conf, struct config *cfg, struct buf *err)
{
    static const struct {
        const char *name;
        size_t off;
    } times[] = {
        {"smtp_connect_timeout", offsetof(struct smtp_conf, connect_timeout)},
        {"smtp_helo_timeout", offsetof(struct smtp_conf, helo_timeout)},
        {"smtp_mail_timeout", offsetof(struct smtp_conf, mail_timeout)},
        {"smtp_rcpt_timeout", offsetof(struct smtp_conf, rcpt_timeout)},
        {"smtp_data_init_timeout", offsetof(struct smtp_conf, data_init_timeout)},
        {"smtp_data_xfer_timeout", offsetof(struct smtp_conf, data_xfer_timeout)},
        {"smtp_data_done_timeout", offsetof(struct smtp_conf, data_done_timeout)},
        {"smtp_quit_timeout", offsetof(struct smtp_conf, quit_timeout)},
        {"smtp_starttls_timeout", offsetof(struct smtp_conf, starttls_timeout)},
    };
    const char *v;
    long n;
    size_t i;
    int b;

    memset(conf, 0, sizeof(*conf));
    conf->helo_name = mem_strdup(config_get(cfg, "smtp_helo_name"));
    conf->myhostname = mem_strdup(config_get(cfg, "myhostname"));
    conf->relayhost = mem_strdup(config_get(cfg, "relayhost"));
    conf->addr.myhostname = conf->myhostname;
    if (smtp_port_parse(config_get(cfg, "smtp_tcp_port"), &conf->tcp_port) < 0) {
        buf_printf(err, "smtp_tcp_port: \"%s\" is not a port or a TCP service", config_get(cfg, "smtp_tcp_port"));
        goto bad;
    }
    for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        if (smtp_conf_time(cfg, times[i].name, (long *) ((char *) conf + times[i].off), err) < 0)
            goto bad;
        if (*(long *) ((char *) conf + times[i].off) < 1) {
            buf_printf(err, "%s: must be at least 1 second", times[i].name);
            goto bad;
        }
    }
    v = config_get(cfg, "smtp_host_lookup");
    for (const char *p = v; *p;) {
        size_t len;

        p += strspn(p, ", \t");
        len = strcspn(p, ", \t");
        if (len == 3 && strncasecmp(p, "dns", 3) == 0)
            conf->addr.lookup |= SMTP_LOOKUP_DNS;
        else if (len == 6 && strncasecmp(p, "native", 6) == 0)
            conf->addr.lookup |= SMTP_LOOKUP_NATIVE;
        else if (len) {
            buf_printf(err, "smtp_host_lookup: unknown method \"%.*s\" (dns, native)", (int) len, p);
            goto bad;
        }
        p += len;
    }
    if (conf->addr.lookup == 0) {
        buf_printf(err, "smtp_host_lookup: no lookup method");
        goto bad;
    }
    v = config_get(cfg, "inet_protocols");
    if (strcasecmp(v, "all") == 0 || strcasecmp(v, "ipv4, ipv6") == 0 || strcasecmp(v, "ipv4 ipv6") == 0 ||
        strcasecmp(v, "ipv6, ipv4") == 0)
        conf->addr.families = 0;
    else if (strcasecmp(v, "ipv4") == 0)
        conf->addr.families = 4;
    else if (strcasecmp(v, "ipv6") == 0)
        conf->addr.families = 6;
    else {
        buf_printf(err, "inet_protocols: \"%s\" is not all, ipv4 or ipv6", v);
        goto bad;
    }
    v = config_get(cfg, "smtp_address_preference");
    if (strcasecmp(v, "any") == 0)
        conf->addr.preference = SMTP_ADDR_PREF_ANY;
    else if (strcasecmp(v, "ipv4") == 0)
        conf->addr.preference = SMTP_ADDR_PREF_IPV4;
    else if (strcasecmp(v, "ipv6") == 0)
        conf->addr.preference = SMTP_ADDR_PREF_IPV6;
    else {
        buf_printf(err, "smtp_address_preference: \"%s\" is not any, ipv4 or ipv6", v);
        goto bad;
    }
    if (config_get_int(cfg, "smtp_mx_address_limit", 0, 1000, &n, err) < 0)
        goto bad;
    conf->addr.address_limit = (size_t) n;
    if (config_get_int(cfg, "smtp_mx_session_limit", 0, 1000, &n, err) < 0)
        goto bad;
    conf->session_limit = (size_t) n;
    if (config_get_int(cfg, "smtp_destination_recipient_limit", 1, 100000, &n, err) < 0)
        goto bad;
    conf->rcpt_limit = (size_t) n;
    if (config_get_int(cfg, "smtp_line_length_limit", 0, 1000000, &n, err) < 0)
        goto bad;
    if (n > 0 && n < 40) {
        buf_printf(err, "smtp_line_length_limit: %ld is too small (0 or at least 40)", n);
        goto bad;
    }
    conf->line_limit = (size_t) n;
    if (config_get_bool(cfg, "smtp_always_send_ehlo", &conf->always_ehlo, err) < 0 ||
        config_get_bool(cfg, "smtp_never_send_ehlo", &conf->never_ehlo, err) < 0 ||
        config_get_bool(cfg, "smtp_skip_5xx_greeting", &conf->skip_5xx_greeting, err) < 0 ||
        config_get_bool(cfg, "disable_mime_output_conversion", &b, err) < 0)
        goto bad;
    conf->mime_conversion = !b;
    v = config_get(cfg, "smtp_tls_security_level");
    if (*v == 0 || strcasecmp(v, "none") == 0)
        conf->tls_level = SMTP_TLS_NONE;
    else if (strcasecmp(v, "may") == 0)
        conf->tls_level = SMTP_TLS_MAY;
    else if (strcasecmp(v, "encrypt") == 0)
        conf->tls_level = SMTP_TLS_ENCRYPT;
    else {
        buf_printf(err, "smtp_tls_security_level: \"%s\" is not none, may or encrypt", v);
        goto bad;
    }
    if (conf->tls_level != SMTP_TLS_NONE) {
        conf->tls_ctx = SSL_CTX_new(TLS_client_method());
        if (conf->tls_ctx == NULL) {
            buf_printf(err, "cannot create the SMTP client's TLS context");
            goto bad;
        }
        SSL_CTX_set_min_proto_version(conf->tls_ctx, TLS1_2_VERSION);
        /* Opportunistic or encrypt: no certificate check (no verify levels here). */
        SSL_CTX_set_verify(conf->tls_ctx, SSL_VERIFY_NONE, NULL);
    }
    if (masq_init(&conf->masq, cfg, err) < 0)
        goto bad;
    if (dns_set_server(config_get(cfg, "dns_server_address"), err) < 0)
        goto bad;
    if (*conf->relayhost) {
        struct smtp_nexthop nh;

        if (smtp_nexthop_parse(conf->relayhost, conf->tcp_port, &nh, err) < 0) {
            buf_printf(err, " (relayhost)");
            goto bad;
        }
        smtp_nexthop_free(&nh);
    }
    return 0;
bad:
    smtp_conf_free(conf);
    return -1;
}

/* smtp_conf_free - release the settings */
void smtp_conf_free(struct smtp_conf *conf)
{
    mem_free(conf->helo_name);
    mem_free(conf->myhostname);
    mem_free(conf->relayhost);
    if (conf->tls_ctx)
        SSL_CTX_free(conf->tls_ctx);
    if (conf->masq.myorigin)
        masq_free(&conf->masq);
    memset(conf, 0, sizeof(*conf));
}

/* smtp_transport_init - in the daemon: the settings every delivery process inherits */
static int smtp_transport_init(struct config *cfg, struct buf *err)
{
    const char *dt = config_get(cfg, "default_transport");

    smtp_conf_free(&smtp_transport_conf);
    mem_free(smtp_transport_owner);
    mem_free(smtp_transport_error);
    smtp_transport_error = NULL;
    /* Postfix's names: smtp, or error[:text] (every relay target bounces, as error(8) does). */
    if (strncmp(dt, "error", 5) == 0 && (dt[5] == 0 || dt[5] == ':')) {
        smtp_transport_error = mem_strdup(dt[5] == ':' && dt[6] ? dt + 6 : "mail for this destination is not deliverable");
    } else if (strcmp(dt, "smtp") != 0 && strncmp(dt, "smtp:", 5) != 0) {
        buf_printf(err, "default_transport: \"%s\" is not smtp or error[:text]", dt);
        return -1;
    }
    smtp_transport_owner = mem_strdup(config_get(cfg, "mail_owner"));
    return smtp_conf_init(&smtp_transport_conf, cfg, err);
}

/* smtp_domain - the domain of an address, or "" */
static const char *smtp_domain(const char *addr)
{
    const char *at = strrchr(addr, '@');

    return at ? at + 1 : "";
}

/*
 * smtp_transport_batch - in the daemon: targets with the same next hop
 * may share a delivery (relayhost: all of them; otherwise one domain)
 */
static size_t smtp_transport_batch(const struct queue_target *t, struct buf *key)
{
    const char *d;

    buf_reset(key);
    if (*smtp_transport_conf.relayhost) {
        buf_addstr(key, smtp_transport_conf.relayhost);
    } else {
        for (d = smtp_domain(t->target); *d; d++)
            buf_addch(key, (char) (*d >= 'A' && *d <= 'Z' ? *d + 'a' - 'A' : *d));
    }
    return smtp_transport_conf.rcpt_limit;
}

/*
 * smtp_privs_drop - run as root, become mail_owner before talking to the
 * network (the same order as smtpd_privs_drop, without its log line: this
 * runs once per delivery)
 */
static int smtp_privs_drop(struct buf *err)
{
    struct passwd *pw;

    if (geteuid() != 0)
        return 0;
    if ((pw = getpwnam(smtp_transport_owner)) == NULL || pw->pw_uid == 0) {
        buf_printf(err, "mail_owner %s: no such user, or root", smtp_transport_owner);
        return -1;
    }
    if (setgroups(1, &pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
        setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
        buf_printf(err, "cannot become mail_owner %s: %s", smtp_transport_owner, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0 || seteuid(0) == 0) {
        buf_printf(err, "root could be regained after becoming %s", smtp_transport_owner);
        return -1;
    }
    return 0;
}

/* smtp_transport_deliver - in the delivery process: every target of the job, one session per server */
static void smtp_transport_deliver(const struct qmgr_delivery *d, struct qmgr_result *res)
{
    const struct queue_msg *qm = d->msg;
    size_t n = d->ntargets ? d->ntargets : 1, i;
    struct smtp_rcpt *rcpts = mem_array(n, sizeof(*rcpts));
    struct smtp_msg m;
    struct buf err = BUF_INIT, nexthop = BUF_INIT;
    const char *p;

    for (i = 0; i < n; i++) {
        size_t ti = d->ntargets ? d->targets[i] : d->target_index;
        const struct queue_target *t = &qm->targets[ti];
        const struct queue_rcpt *r = &qm->rcpts[t->parent];

        smtp_rcpt_init(&rcpts[i], t->target, r->orcpt, r->notify);
    }
    if (smtp_transport_error) {
        for (i = 0; i < n; i++) {
            rcpts[i].status = SMTP_RCPT_BOUNCED;
            snprintf(rcpts[i].dsn, sizeof(rcpts[i].dsn), "5.0.0");
            buf_setstr(&rcpts[i].text, smtp_transport_error);
            buf_setstr(&rcpts[i].relay, "none");
        }
        goto report;
    }
    if (smtp_privs_drop(&err) < 0) {
        for (i = 0; i < n; i++) {
            rcpts[i].status = SMTP_RCPT_DEFERRED;
            snprintf(rcpts[i].dsn, sizeof(rcpts[i].dsn), "4.3.0");
            buf_setstr(&rcpts[i].text, err.data);
            buf_setstr(&rcpts[i].relay, "none");
        }
        goto report;
    }
    memset(&m, 0, sizeof(m));
    m.queue_id = d->queue_id;
    m.sender = qm->sender;
    m.fd = d->fd;
    m.content_start = qm->content_start;
    m.content_end = qm->content_end;
    m.size = qm->size;
    m.body = queue_msg_param(qm, "BODY");
    m.smtputf8 = queue_msg_param(qm, "SMTPUTF8") != NULL;
    m.ret = queue_msg_param(qm, "RET");
    m.envid = queue_msg_param(qm, "ENVID");
    if (*smtp_transport_conf.relayhost) {
        buf_setstr(&nexthop, smtp_transport_conf.relayhost);
    } else {
        /* The recipient's domain; a domain literal [1.2.3.4] is an address. */
        buf_setstr(&nexthop, smtp_domain(rcpts[0].address));
        if (nexthop.len == 0) {
            for (i = 0; i < n; i++) {
                rcpts[i].status = SMTP_RCPT_BOUNCED;
                snprintf(rcpts[i].dsn, sizeof(rcpts[i].dsn), "5.1.3");
                buf_setstr(&rcpts[i].text, "bad address syntax: no domain");
                buf_setstr(&rcpts[i].relay, "none");
            }
            goto report;
        }
    }
    smtp_deliver(&smtp_transport_conf, &m, nexthop.data, rcpts, n);
report:
    for (i = 0; i < n; i++) {
        struct qmgr_result *out = &res[i];

        snprintf(out->status, sizeof(out->status), "%s", smtp_status_name(rcpts[i].status));
        buf_setstr(&out->dsn, rcpts[i].dsn[0] ? rcpts[i].dsn : "4.0.0");
        /* One line in the log and the queue file. */
        buf_reset(&out->text);
        for (p = rcpts[i].text.data; *p; p++)
            buf_addch(&out->text, *p == '\n' || *p == '\t' ? ' ' : *p);
        buf_setstr(&out->relay, rcpts[i].relay.len ? rcpts[i].relay.data : "none");
        smtp_rcpt_free(&rcpts[i]);
    }
    mem_free(rcpts);
    buf_free(&err);
    buf_free(&nexthop);
}

const struct qmgr_transport qmgr_transport_smtp = {
    "smtp",
    smtp_transport_init,
    smtp_transport_deliver,
    smtp_transport_batch,
};
