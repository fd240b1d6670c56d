/*
 * smtpd_server.c - mta-core's daemon: settings, listeners, accepting
 * clients, signals, and the event loop the queue manager shares.
 *
 * Start-up order (smtpd_server_run):
 *   1. read the settings (smtpd_conf), open the tables, load the TLS
 *      certificate: any error is fatal before anything listens;
 *   2. bind the smtpd_listen sockets and prepare queue_directory and
 *      home_base (as root: created and given to mail_owner);
 *   3. register the hooks: the built-in policy first, then the milters;
 *   4. as root, let the queue manager fork its privileged delivery
 *      helper (qmgr_init), then give up root (smtpd_privs_drop): from
 *      here on mta-core is mail_owner;
 *   5. start the queue manager in the same loop, and run the loop.  SIGHUP
 *      reloads the tables and the milter settings; SIGTERM and SIGINT stop
 *      accepting, close the sessions (an unfinished message was never
 *      acknowledged, so nothing accepted is lost) and exit 0.
 *
 * At most default_process_limit sessions run at once; beyond that the
 * listeners pause and new clients wait in the kernel's backlog, as they
 * wait for a free smtpd process under Postfix's master.
 *
 * Trusts: the configuration, checked here, and nothing from the network.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/bounce_dsn.h"
#include "mta-core/maildrop.h"
#include "mta-core/maildrop_milter.h"
#include "mta-core/maps_lookup.h"
#include "mta-core/milter_hook.h"
#include "mta-core/params.h"
#include "mta-core/queue.h"
#include "mta-core/smtpd_server.h"
#include "mta-core/smtpd_session.h"

struct smtpd_conf *smtpd_conf;

static struct evconnlistener **smtpd_listeners;
static size_t smtpd_nlisteners;
static long smtpd_active;
static int smtpd_paused;

/* smtpd_split_words - a NULL-terminated copy of the words in value */
static char **smtpd_split_words(const char *value)
{
    char **words = mem_array(1, sizeof(char *));
    size_t n = 0;

    while (*value) {
        size_t len;

        value += strspn(value, ", \t\n");
        len = strcspn(value, ", \t\n");
        if (len == 0)
            break;
        words = mem_realloc_array(words, n + 2, sizeof(char *));
        words[n++] = mem_strndup(value, len);
        value += len;
    }
    words[n] = NULL;
    return words;
}

/* smtpd_conf_load - the server's settings from cfg; -1 with err when one is wrong */
int smtpd_conf_load(struct config *cfg, struct smtpd_conf *c, struct buf *err)
{
    long size;

    c->cfg = cfg;
    c->myhostname = mem_strdup(config_get(cfg, "myhostname"));
    c->banner = mem_strdup(config_get(cfg, "smtpd_banner"));
    c->mail_name = mem_strdup(config_get(cfg, "mail_name"));
    c->queue_dir = mem_strdup(config_get(cfg, "queue_directory"));
    if (config_get_time(cfg, "smtpd_timeout", 's', &c->timeout, err) < 0
        || config_get_time(cfg, "smtpd_starttls_timeout", 's', &c->starttls_timeout, err) < 0
        || config_get_time(cfg, "smtpd_error_sleep_time", 's', &c->error_sleep, err) < 0
        || config_get_time(cfg, "anvil_rate_time_unit", 's', &c->rate_unit, err) < 0
        || config_get_int(cfg, "smtpd_soft_error_limit", 0, 1000000, &c->soft_error_limit, err) < 0
        || config_get_int(cfg, "smtpd_hard_error_limit", 1, 1000000, &c->hard_error_limit, err) < 0
        || config_get_int(cfg, "smtpd_junk_command_limit", 1, 1000000, &c->junk_limit, err) < 0
        || config_get_int(cfg, "smtpd_recipient_limit", 1, 100000000, &c->rcpt_limit, err) < 0
        || config_get_int(cfg, "line_length_limit", 512, 1000000, &c->line_limit, err) < 0
        || config_get_int(cfg, "header_size_limit", 1000, 100000000, &c->header_limit, err) < 0
        || config_get_int(cfg, "message_size_limit", 0, 0x7fffffffffffL, &size, err) < 0
        || config_get_int(cfg, "smtpd_forbid_bare_newline_reject_code", 400, 599, &c->bare_lf_code, err) < 0
        || config_get_int(cfg, "default_process_limit", 1, 100000, &c->process_limit, err) < 0
        || config_get_int(cfg, "smtpd_client_connection_count_limit", 0, 1000000, &c->conn_count_limit, err) < 0
        || config_get_int(cfg, "smtpd_client_connection_rate_limit", 0, 1000000, &c->conn_rate_limit, err) < 0
        || config_get_int(cfg, "smtpd_client_message_rate_limit", 0, 1000000, &c->msg_rate_limit, err) < 0
        || config_get_int(cfg, "smtpd_client_recipient_rate_limit", 0, 1000000, &c->rcpt_rate_limit, err) < 0
        || config_get_bool(cfg, "smtpd_helo_required", &c->helo_required, err) < 0
        || config_get_bool(cfg, "disable_vrfy_command", &c->vrfy_disabled, err) < 0
        || config_get_bool(cfg, "smtputf8_enable", &c->smtputf8, err) < 0
        || config_get_bool(cfg, "smtpd_peername_lookup", &c->peername_lookup, err) < 0
        || config_get_bool(cfg, "smtpd_tls_received_header", &c->tls_received_header, err) < 0)
        return -1;
    if (c->rate_unit < 1) {
        buf_addstr(err, "anvil_rate_time_unit must be at least 1s");
        return -1;
    }
    c->size_limit = (unsigned long long) size;
    c->forbidden = smtpd_split_words(config_get(cfg, "smtpd_forbidden_commands"));
    if (*config_get(cfg, "smtpd_client_event_limit_exceptions")
        && (c->limit_exceptions = maps_list_open("smtpd_client_event_limit_exceptions",
                                                 config_get(cfg, "smtpd_client_event_limit_exceptions"),
                                                 MAPS_LIST_NETS | MAPS_LIST_PARENT, err)) == NULL)
        return -1;
    c->tls = tls_server_init(cfg, &c->tls_level, err);
    if (c->tls == NULL && err->len)
        return -1;
    return 0;
}

/* smtpd_pause - stop or resume accepting (default_process_limit) */
static void smtpd_pause(int pause)
{
    size_t i;

    if (pause == smtpd_paused)
        return;
    smtpd_paused = pause;
    for (i = 0; i < smtpd_nlisteners; i++) {
        if (pause)
            evconnlistener_disable(smtpd_listeners[i]);
        else
            evconnlistener_enable(smtpd_listeners[i]);
    }
}

/* smtpd_accept - a new client */
static void smtpd_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                         void *arg)
{
    (void) l;
    (void) arg;
    smtpd_active++;
    if (smtpd_active >= smtpd_conf->process_limit)
        smtpd_pause(1);
    smtpd_session_start(fd, sa, (socklen_t) len);
}

/* smtpd_accept_error - accept() failed (out of descriptors, ...): log, go on */
static void smtpd_accept_error(struct evconnlistener *l, void *arg)
{
    (void) l;
    (void) arg;
    msg_warn("accept: %s", strerror(errno));
}

/* smtpd_session_ended - a session is gone: maybe accept again */
void smtpd_session_ended(void)
{
    smtpd_active--;
    if (smtpd_active < smtpd_conf->process_limit)
        smtpd_pause(0);
}

/* smtpd_queue_committed - a message is on disk in incoming/: tell the queue manager */
void smtpd_queue_committed(const char *queue_id)
{
    (void) queue_id;
    qmgr_kick();
}

/*
 * smtpd_reload_milters - SIGHUP: smtpd_milters and the milter_* settings
 * read again from the configuration file (and -o) for new sessions; one
 * that does not parse leaves the running settings alone and says why.
 */
static void smtpd_reload_milters(void)
{
    struct buf err = BUF_INIT;
    struct config *cfg = params_reload(&err);

    if (cfg == NULL || milter_hook_reload(cfg, &err) < 0) {
        msg_warn("reload: %s; keeping the running milter settings", err.data);
    } else {
        msg_info("reload: smtpd_milters = %s (%zu milter%s) for new sessions",
                 config_get(cfg, "smtpd_milters"), milter_hook_count(),
                 milter_hook_count() == 1 ? "" : "s");
        if (maildrop_milter_reload(cfg, &err) < 0)
            msg_warn("reload: %s; keeping the running non_smtpd_milters", err.data);
        else
            msg_info("reload: non_smtpd_milters = %s", config_get(cfg, "non_smtpd_milters"));
    }
    if (cfg)
        config_free(cfg);
    buf_free(&err);
}

/* smtpd_signal - SIGHUP reloads the tables; SIGTERM and SIGINT end the daemon */
static void smtpd_signal(evutil_socket_t sig, short what, void *arg)
{
    (void) what;
    (void) arg;
    if (sig == SIGHUP) {
        msg_info("reload: reading the tables again");
        maps_reload_all();
        smtpd_reload_milters();
        return;
    }
    msg_info("terminating on signal %d", (int) sig);
    event_base_loopexit(smtpd_conf->base, NULL);
}

/*
 * smtpd_server_run - everything after the configuration is loaded: the
 * start-up order in the header comment, then the loop until a signal ends
 * it.  Returns when the daemon should exit 0.
 */
void smtpd_server_run(struct config *cfg)
{
    struct smtpd_listener *ls;
    struct buf err = BUF_INIT;
    struct event *sig_hup, *sig_term, *sig_int;
    char *owner = mem_strdup(config_get(cfg, "mail_owner"));
    size_t i, n;

    signal(SIGPIPE, SIG_IGN);
    smtpd_conf = mem_zalloc(sizeof(*smtpd_conf));
    if ((smtpd_conf->base = event_base_new()) == NULL)
        msg_fatal("event_base_new failed");
    if (smtpd_conf_load(cfg, smtpd_conf, &err) < 0)
        msg_fatal("%s", err.data);
    if (smtpd_policy_init(cfg, &err) < 0)
        msg_fatal("%s", err.data);
    if (smtpd_listen_open(config_get(cfg, "smtpd_listen"), &ls, &n, &err) < 0)
        msg_fatal("%s", err.data);
    if (smtpd_privs_owner(owner, smtpd_conf->queue_dir, 0700, &err) < 0
        || smtpd_privs_owner(owner, config_get(cfg, "home_base"), 0755, &err) < 0)
        msg_fatal("%s", err.data);
    smtpd_listeners = mem_array(n, sizeof(*smtpd_listeners));
    for (i = 0; i < n; i++) {
        evutil_make_socket_nonblocking(ls[i].fd);
        smtpd_listeners[i] = evconnlistener_new(smtpd_conf->base, smtpd_accept, NULL,
                                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
                                                ls[i].fd);
        if (smtpd_listeners[i] == NULL)
            msg_fatal("evconnlistener_new %s failed", ls[i].name);
        evconnlistener_set_error_cb(smtpd_listeners[i], smtpd_accept_error);
        msg_info("listening on %s", ls[i].name);
        mem_free(ls[i].name);
    }
    mem_free(ls);
    smtpd_nlisteners = n;
    /* The milters come after the policy, in one hook (milter_hook.c). */
    if (milter_hook_init(cfg, smtpd_conf->base, &err) < 0)
        msg_fatal("%s", err.data);
    /*
     * Deliveries as root must take each recipient's identity, which the
     * SMTP side must not be able to do: while still root, the queue
     * manager forks its small privileged helper (qmgr_init), then root
     * is given up for good.
     */
    bounce_register();
    if (geteuid() == 0)
        qmgr_init(cfg);
    smtpd_privs_drop(owner);
    mem_free(owner);
    smtpd_resolve_init(smtpd_conf->base);
    smtpd_commit_init(smtpd_conf->base);
    qmgr_start(smtpd_conf->base, cfg);
    maildrop_start(smtpd_conf->base, cfg);
    sig_hup = evsignal_new(smtpd_conf->base, SIGHUP, smtpd_signal, NULL);
    sig_term = evsignal_new(smtpd_conf->base, SIGTERM, smtpd_signal, NULL);
    sig_int = evsignal_new(smtpd_conf->base, SIGINT, smtpd_signal, NULL);
    evsignal_add(sig_hup, NULL);
    evsignal_add(sig_term, NULL);
    evsignal_add(sig_int, NULL);
    msg_info("daemon started -- %s, queue_directory %s", smtpd_conf->mail_name,
             smtpd_conf->queue_dir);
    event_base_dispatch(smtpd_conf->base);
    smtpd_sessions_close_all();
    for (i = 0; i < smtpd_nlisteners; i++)
        evconnlistener_free(smtpd_listeners[i]);
    maildrop_stop();
    qmgr_stop();
    event_free(sig_hup);
    event_free(sig_term);
    event_free(sig_int);
    buf_free(&err);
    msg_info("stopped");
}
