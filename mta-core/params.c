/*
 * params.c - the one list of main.cf parameters mta-core and mtaq know,
 * and loading a configuration with them.
 *
 * Defaults are Postfix's (postconf -d) unless a comment says why not; the
 * ones Postfix computes at run time (myhostname, mydomain) are filled in
 * by params_load() when the configuration leaves them empty.  Keep the list
 * grouped by the module that reads it, and mta-core.conf(5) in step.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/params.h"

const struct config_param mta_params[] = {
    /* Names of this system. */
    { "myhostname", "" },   /* empty: gethostname() at start-up */
    { "mydomain", "" },     /* empty: myhostname minus its first label, else localdomain */
    { "myorigin", "$myhostname" },
    { "mydestination", "$myhostname, localhost.$mydomain, localhost" },
    { "mail_name", "mailsift" },
    { "mail_owner", "postfix" },
    { "syslog_name", "mta-core" },
    { "syslog_facility", "mail" },

    /* The SMTP server: listening, limits, timeouts. */
    { "smtpd_listen", "127.0.0.1:25" },
    { "smtpd_banner", "$myhostname ESMTP $mail_name" },
    { "default_process_limit", "100" },
    { "smtpd_timeout", "300s" },
    { "smtpd_starttls_timeout", "300s" },
    { "smtpd_soft_error_limit", "10" },
    { "smtpd_hard_error_limit", "20" },
    { "smtpd_error_sleep_time", "1s" },
    { "smtpd_junk_command_limit", "100" },
    { "smtpd_recipient_limit", "1000" },
    { "smtpd_helo_required", "no" },
    { "smtpd_peername_lookup", "yes" },
    { "smtpd_forbidden_commands", "CONNECT GET POST" },
    { "smtpd_forbid_bare_newline_reject_code", "550" },
    { "disable_vrfy_command", "no" },
    { "smtputf8_enable", "yes" },
    { "line_length_limit", "2048" },
    { "header_size_limit", "102400" },
    { "message_size_limit", "10240000" },

    /* Per-client limits (Postfix's anvil). */
    { "anvil_rate_time_unit", "60s" },
    { "smtpd_client_connection_count_limit", "50" },
    { "smtpd_client_connection_rate_limit", "0" },
    { "smtpd_client_message_rate_limit", "0" },
    { "smtpd_client_recipient_rate_limit", "0" },
    { "smtpd_client_event_limit_exceptions", "$mynetworks" },

    /* Relay control and access policy. */
    { "mynetworks", "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128" },
    { "relay_domains", "" },
    { "relay_domains_reject_code", "554" },
    { "access_maps", "" },
    { "access_map_reject_code", "554" },
    { "access_map_defer_code", "450" },
    { "smtpd_delay_reject", "yes" },
    { "recipient_delimiter", "" },

    /* TLS. */
    { "smtpd_tls_cert_file", "" },
    { "smtpd_tls_key_file", "" },
    { "smtpd_tls_security_level", "" },
    { "smtpd_tls_protocols", ">=TLSv1.2" },
    { "smtpd_tls_ciphers", "" },
    { "smtpd_tls_received_header", "no" },

    /* The queue and local delivery (the queue's own parameters follow). */
    { "queue_directory", "/var/spool/mta-core" },
    { "home_base", "" },
    { "queue_run_delay", "300s" },
    { "minimal_backoff_time", "300s" },
    { "maximal_backoff_time", "4000s" },
    { "maximal_queue_lifetime", "5d" },
    { "bounce_queue_lifetime", "5d" },
    { "qmgr_message_active_limit", "20000" },
    { "local_destination_concurrency_limit", "2" },
    { "alias_maps", "hash:/etc/aliases" },
    { "virtual_alias_maps", "" },
    { "propagate_unmatched_extensions", "canonical, virtual" },
    { "allow_mail_to_commands", "alias, forward" },
    { "allow_mail_to_files", "alias, forward" },
    { "default_privs", "nobody" },
    { "mailbox_command", "" },
    { "home_mailbox", "" },
    { "mail_spool_directory", "/var/mail" },
    { "mailbox_size_limit", "51200000" },
    { "command_time_limit", "1000s" },

    /* Milters (milter_conf.c): Postfix's names and defaults. */
    { "smtpd_milters", "" },
    { "non_smtpd_milters", "" }, /* mail from the maildrop (maildrop_milter.c) */
    { "milter_default_action", "tempfail" },
    { "milter_protocol", "6" },
    { "milter_connect_timeout", "30s" },
    { "milter_command_timeout", "30s" },
    { "milter_content_timeout", "300s" },
    { "milter_connect_macros", "j {daemon_name} {daemon_addr} v _" },
    { "milter_helo_macros", "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}" },
    { "milter_mail_macros", "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} "
                            "{mail_mailer}" },
    { "milter_rcpt_macros", "i {rcpt_addr} {rcpt_host} {rcpt_mailer}" },
    { "milter_data_macros", "i" },
    { "milter_unknown_command_macros", "" },
    { "milter_end_of_header_macros", "i" },
    { "milter_end_of_data_macros", "i" },
    { "milter_macro_daemon_name", "$myhostname" },
    { "milter_macro_v", "$mail_name" }, /* Postfix: "$mail_name $mail_version" */
    { "milter_macro_defaults", "" },

    /* The SMTP client: relay delivery (smtp_transport.c). */
    { "default_transport", "smtp" },
    { "relayhost", "" },
    { "smtp_tcp_port", "smtp" },
    { "smtp_helo_name", "$myhostname" },
    { "smtp_host_lookup", "dns" },
    { "inet_protocols", "all" },
    { "smtp_address_preference", "any" },
    { "smtp_mx_address_limit", "5" },
    { "smtp_mx_session_limit", "2" },
    { "smtp_destination_recipient_limit", "50" },
    { "smtp_connect_timeout", "30s" },
    { "smtp_helo_timeout", "300s" },
    { "smtp_mail_timeout", "300s" },
    { "smtp_rcpt_timeout", "300s" },
    { "smtp_data_init_timeout", "120s" },
    { "smtp_data_xfer_timeout", "180s" },
    { "smtp_data_done_timeout", "600s" },
    { "smtp_quit_timeout", "300s" },
    { "smtp_starttls_timeout", "300s" },
    /* Postfix's default is "" (no TLS); opportunistic TLS is what Debian ships and what we want. */
    { "smtp_tls_security_level", "may" },
    { "smtp_always_send_ehlo", "yes" },
    { "smtp_never_send_ehlo", "no" },
    { "smtp_skip_5xx_greeting", "yes" },
    { "smtp_line_length_limit", "998" },
    { "disable_mime_output_conversion", "no" },
    /* For tests: the one DNS server (address:port) to ask instead of /etc/resolv.conf. */
    { "dns_server_address", "" },

    /* Address masquerading on outbound mail (masq_addr.c). */
    { "masquerade_domains", "" },
    { "masquerade_exceptions", "" },
    { "masquerade_classes", "envelope_sender, header_sender, header_recipient" },

    /* Delivery status notifications (bounce_dsn.c). */
    { "delay_warning_time", "0h" },
    { "bounce_size_limit", "50000" },

    { NULL, NULL },
};

/*
 * params_fill_names - Postfix computes myhostname and mydomain when they
 * are not set; so do we, before anything expands $myhostname.
 */
static void params_fill_names(struct config *cfg)
{
    struct buf assign = BUF_INIT;
    struct buf err = BUF_INIT;
    const char *value;
    char host[HOST_NAME_MAX + 1];

    value = config_get(cfg, "myhostname");
    if (value == NULL || *value == 0) {
        if (gethostname(host, sizeof(host)) < 0)
            msg_fatal("gethostname: %s", strerror(errno));
        host[sizeof(host) - 1] = 0;
        buf_printf(&assign, "myhostname=%s", host);
        if (config_set(cfg, assign.data, &err) < 0)
            msg_panic("params: %s", err.data);
    }
    value = config_get(cfg, "mydomain");
    if (value == NULL || *value == 0) {
        const char *dot = strchr(config_get(cfg, "myhostname"), '.');

        buf_reset(&assign);
        buf_printf(&assign, "mydomain=%s", dot && dot[1] ? dot + 1 : "localdomain");
        if (config_set(cfg, assign.data, &err) < 0)
            msg_panic("params: %s", err.data);
    }
    buf_free(&assign);
    buf_free(&err);
}

/* Where params_load() read the configuration from, for params_reload(). */
static struct {
    char *path;
    char **overrides;
    int noverride;
    int must_exist;
} params_source;

/* params_try_load - the configuration, or NULL and err saying what is wrong */
static struct config *params_try_load(const char *path, char *const *overrides, int noverride,
                                      int must_exist, struct buf *err)
{
    struct config *cfg = config_new(mta_params);
    int i, ret = 0;

    if (path && (must_exist || access(path, F_OK) == 0) && config_load(cfg, path, err) < 0)
        ret = -1;
    for (i = 0; ret == 0 && i < noverride; i++)
        if (config_set(cfg, overrides[i], err) < 0)
            ret = -1;
    if (ret == 0 && config_check(cfg, err) < 0)
        ret = -1;
    if (ret < 0) {
        config_free(cfg);
        return NULL;
    }
    params_fill_names(cfg);
    return cfg;
}

/*
 * params_load - the configuration: the file (when path is not NULL; a
 * missing file is fatal only with must_exist), then the -o overrides, then
 * the computed names.  Any error is fatal: a daemon must not start with a
 * configuration it does not understand.  The source is remembered for
 * params_reload().
 */
struct config *params_load(const char *path, char *const *overrides, int noverride, int must_exist)
{
    struct buf err = BUF_INIT;
    struct config *cfg = params_try_load(path, overrides, noverride, must_exist, &err);
    int i;

    if (cfg == NULL)
        msg_fatal("%s", err.data);
    buf_free(&err);
    params_source.path = path ? mem_strdup(path) : NULL;
    params_source.overrides = mem_array((size_t) noverride + 1, sizeof(char *));
    for (i = 0; i < noverride; i++)
        params_source.overrides[i] = mem_strdup(overrides[i]);
    params_source.noverride = noverride;
    params_source.must_exist = must_exist;
    return cfg;
}

/*
 * params_reload - the configuration read again from where params_load()
 * read it (the same file and -o overrides), or NULL and err saying why
 * (SIGHUP: the running configuration stays).
 */
struct config *params_reload(struct buf *err)
{
    return params_try_load(params_source.path, params_source.overrides, params_source.noverride,
                           params_source.must_exist, err);
}
