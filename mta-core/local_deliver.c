/*
 * local_deliver.c - local delivery of one target, in the process the
 * queue manager forked for it: who the recipient is, whose privileges to
 * take, and which writer to use.
 *
 * A mailbox target is a local user: with home_base = DIR the user is "u"
 * of u@domain (without its extension), home DIR/u (created on first
 * delivery), delivered as the daemon's own user; otherwise a passwd entry,
 * delivered as that user (when we are root).  Then, as local(8):
 * mailbox_command if set, else home_mailbox (a name ending in '/' is a
 * Maildir), else mail_spool_directory/user.  Command and file targets from
 * aliases run with the privileges the expansion chose for them.
 *
 * mailbox_size_limit is the file size limit (RLIMIT_FSIZE) of this
 * process and what it runs, as in Postfix: a mailbox that would grow past
 * it is full (5.2.2).  A message that already carries a Delivered-To:
 * header for the address is a forwarding loop (5.4.6).
 *
 * Trust: addresses come from the queue file (from a client, through
 * expansion); a user name is checked before it becomes a path, and the
 * environment of commands is filtered (command_expansion_filter).
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmatch/config.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/local_command.h"
#include "mta-core/local_copy.h"
#include "mta-core/local_deliver.h"
#include "mta-core/local_mbox.h"
#include "mta-core/queue.h"

/* Postfix's default command_expansion_filter: anything else becomes '_'. */
#define LOCAL_ENV_SAFE "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define LOCAL_PATH "/usr/bin:/bin"

static char *local_conf_str(struct config *cfg, const char *name)
{
    const char *v = config_get(cfg, name);

    return mem_strdup(v ? v : "");
}

/* local_conf_init - the parameters of local delivery; -1 with err on a bad value */
int local_conf_init(struct local_conf *lc, struct config *cfg, struct buf *err)
{
    memset(lc, 0, sizeof(*lc));
    /* A raw parameter, as in Postfix: its $names are for the shell. */
    lc->mailbox_command = mem_strdup(config_get_raw(cfg, "mailbox_command") ?: "");
    lc->home_mailbox = local_conf_str(cfg, "home_mailbox");
    lc->home_base = local_conf_str(cfg, "home_base");
    lc->mail_spool_directory = local_conf_str(cfg, "mail_spool_directory");
    lc->recipient_delimiter = local_conf_str(cfg, "recipient_delimiter");
    lc->myhostname = local_conf_str(cfg, "myhostname");
    lc->privileged = geteuid() == 0 && lc->home_base[0] == 0;
    if (config_get_int(cfg, "mailbox_size_limit", 0, LONG_MAX, &lc->mailbox_size_limit, err) < 0 ||
        config_get_time(cfg, "command_time_limit", 's', &lc->command_time_limit, err) < 0)
        return -1;
    if (lc->command_time_limit <= 0) {
        buf_addstr(err, "command_time_limit must be greater than zero");
        return -1;
    }
    if (lc->privileged) {
        const char *privs = config_get(cfg, "default_privs");
        struct passwd *pw = getpwnam(privs ? privs : "");

        if (pw == NULL || pw->pw_uid == 0) {
            buf_printf(err, "default_privs: unknown or privileged user \"%s\"", privs ? privs : "");
            return -1;
        }
        lc->default_uid = pw->pw_uid;
        lc->default_gid = pw->pw_gid;
    }
    return 0;
}

/* local_conf_free - release the strings */
void local_conf_free(struct local_conf *lc)
{
    mem_free(lc->mailbox_command);
    mem_free(lc->home_mailbox);
    mem_free(lc->home_base);
    mem_free(lc->mail_spool_directory);
    mem_free(lc->recipient_delimiter);
    mem_free(lc->myhostname);
}

/* local_result_set - say what became of the delivery */
void local_result_set(struct local_result *res, const char *status, const char *dsn, const char *fmt, ...)
{
    va_list ap;

    snprintf(res->status, sizeof(res->status), "%s", status);
    buf_setstr(&res->dsn, dsn);
    buf_reset(&res->text);
    va_start(ap, fmt);
    buf_vprintf(&res->text, fmt, ap);
    va_end(ap);
}

/*
 * local_drop_privs - become uid/gid for good: supplementary groups, then
 * gid, then uid (STYLE: one function, fixed order, any failure fatal to
 * this delivery process).
 */
static void local_drop_privs(uid_t uid, gid_t gid, const char *user)
{
    if ((user ? initgroups(user, gid) : setgroups(1, &gid)) < 0)
        msg_fatal("setgroups for uid %ld: %m", (long) uid);
    if (setresgid(gid, gid, gid) < 0)
        msg_fatal("setresgid %ld: %m", (long) gid);
    if (setresuid(uid, uid, uid) < 0)
        msg_fatal("setresuid %ld: %m", (long) uid);
}

/* The recipient, taken apart as local(8) does. */
struct local_who {
    struct buf address;   /* as delivered (Delivered-To, RECIPIENT) */
    struct buf local;     /* local part, case folded, with the extension */
    struct buf user;      /* without the extension */
    struct buf ext;       /* the extension, "" when none */
    struct buf domain;
    struct buf home;
    struct buf shell;
    uid_t uid;
    gid_t gid;
    int has_ext;
};

static void local_who_init(struct local_who *w)
{
    memset(w, 0, sizeof(*w));
    buf_init(&w->address);
    buf_init(&w->local);
    buf_init(&w->user);
    buf_init(&w->ext);
    buf_init(&w->domain);
    buf_init(&w->home);
    buf_init(&w->shell);
}

static void local_who_free(struct local_who *w)
{
    buf_free(&w->address);
    buf_free(&w->local);
    buf_free(&w->user);
    buf_free(&w->ext);
    buf_free(&w->domain);
    buf_free(&w->home);
    buf_free(&w->shell);
}

/* local_split - address into local part, user, extension and domain */
static void local_split(const struct local_conf *lc, const char *addr, struct local_who *w)
{
    const char *at = strrchr(addr, '@');
    size_t i;

    buf_setstr(&w->address, addr);
    if (at) {
        buf_add(&w->local, addr, (size_t) (at - addr));
        buf_setstr(&w->domain, at + 1);
    } else {
        buf_setstr(&w->local, addr);
    }
    for (i = 0; i < w->local.len; i++)
        w->local.data[i] = (char) tolower((unsigned char) w->local.data[i]);
    buf_setstr(&w->user, w->local.data);
    for (i = 1; lc->recipient_delimiter[0] && i < w->local.len; i++) {
        if (strchr(lc->recipient_delimiter, w->local.data[i])) {
            /* An extension with a '/' is dropped, as local(8) drops it. */
            if (strchr(w->local.data + i + 1, '/') == NULL) {
                buf_setstr(&w->ext, w->local.data + i + 1);
                w->has_ext = 1;
            }
            buf_truncate(&w->user, i);
            break;
        }
    }
}

/* local_mkhome - create a home_base home (and home_base) when missing */
static int local_mkhome(const char *path)
{
    struct stat st;
    char *copy;
    char *p;
    int rc = 0;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    copy = mem_strdup(path);

    for (p = copy + 1; *p && rc == 0; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(copy, 0755) < 0 && errno != EEXIST)
            rc = -1;
        *p = '/';
    }
    if (rc == 0 && mkdir(copy, 0700) < 0 && errno != EEXIST)
        rc = -1;
    mem_free(copy);
    return rc;
}

/* local_env_add - NAME=value, value filtered as Postfix filters it */
static void local_env_add(char ***env, size_t *n, const char *name, const char *value)
{
    struct buf e = BUF_INIT;
    const char *p;

    if (value == NULL)
        return;
    buf_printf(&e, "%s=", name);
    for (p = value; *p; p++)
        buf_addch(&e, strchr(LOCAL_ENV_SAFE, *p) ? *p : '_');
    *env = mem_realloc_array(*env, *n + 2, sizeof(**env));
    (*env)[(*n)++] = buf_detach(&e, NULL);
    (*env)[*n] = NULL;
}

/* local_env_build - the environment of a command, as local(8) sets it */
static char **local_env_build(const struct local_request *req, const struct local_who *w, const char *logname)
{
    const struct queue_msg *msg = req->msg;
    char **env = NULL;
    size_t n = 0;
    const char *v;

    local_env_add(&env, &n, "PATH", LOCAL_PATH);
    if ((v = getenv("TZ")) != NULL)
        local_env_add(&env, &n, "TZ", v);
    if ((v = getenv("LANG")) != NULL)
        local_env_add(&env, &n, "LANG", v);
    local_env_add(&env, &n, "HOME", w->home.data);
    local_env_add(&env, &n, "LOGNAME", logname);
    local_env_add(&env, &n, "USER", logname);
    local_env_add(&env, &n, "SENDER", msg->sender);
    local_env_add(&env, &n, "RECIPIENT", w->address.data);
    local_env_add(&env, &n, "LOCAL", w->local.data);
    local_env_add(&env, &n, "SHELL", w->shell.data);
    if (w->domain.len)
        local_env_add(&env, &n, "DOMAIN", w->domain.data);
    if (w->has_ext)
        local_env_add(&env, &n, "EXTENSION", w->ext.data);
    if (req->orig_rcpt && *req->orig_rcpt)
        local_env_add(&env, &n, "ORIGINAL_RECIPIENT", req->orig_rcpt);
    if ((v = queue_msg_param(msg, "ENVID")) != NULL && *v)
        local_env_add(&env, &n, "ENVID", v);
    if ((v = queue_msg_attr(msg, "client_name")) != NULL && *v)
        local_env_add(&env, &n, "CLIENT_HOSTNAME", v);
    if ((v = queue_msg_attr(msg, "client_address")) != NULL && *v)
        local_env_add(&env, &n, "CLIENT_ADDRESS", v);
    if ((v = queue_msg_attr(msg, "helo_name")) != NULL && *v)
        local_env_add(&env, &n, "CLIENT_HELO", v);
    if ((v = queue_msg_attr(msg, "protocol")) != NULL && *v)
        local_env_add(&env, &n, "CLIENT_PROTOCOL", v);
    return env;
}

static void local_env_free(char **env)
{
    for (char **p = env; p && *p; p++)
        mem_free(*p);
    mem_free(env);
}

/* local_user - home, uid, gid and shell of a mailbox user; 0, or -1 with res set */
static int local_user(const struct local_conf *lc, struct local_who *w, struct local_result *res)
{
    struct passwd *pw;

    if (w->user.len == 0 || strchr(w->user.data, '/') || w->user.data[0] == '.') {
        local_result_set(res, "bounced", "5.1.3", "bad address syntax: \"%s\"", w->address.data);
        return -1;
    }
    if (lc->home_base[0]) {
        buf_printf(&w->home, "%s/%s", lc->home_base, w->user.data);
        buf_setstr(&w->shell, "/bin/sh");
        w->uid = getuid();
        w->gid = getgid();
        if (local_mkhome(w->home.data) < 0) {
            local_result_set(res, "deferred", "4.2.0", "cannot create home directory %s: %s", w->home.data,
                             strerror(errno));
            return -1;
        }
        return 0;
    }
    errno = 0;
    pw = getpwnam(w->user.data);
    if (pw == NULL) {
        if (errno)
            local_result_set(res, "deferred", "4.3.0", "user lookup for \"%s\": %s", w->user.data, strerror(errno));
        else
            local_result_set(res, "bounced", "5.1.1", "unknown user: \"%s\"", w->user.data);
        return -1;
    }
    buf_setstr(&w->home, pw->pw_dir);
    buf_setstr(&w->shell, pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh");
    w->uid = pw->pw_uid;
    w->gid = pw->pw_gid;
    return 0;
}

/* local_mailbox - a local user's mailbox */
static void local_mailbox(const struct local_conf *lc, const struct local_request *req, struct local_result *res)
{
    struct local_who w;
    struct buf path = BUF_INIT, what = BUF_INIT;

    local_who_init(&w);
    local_split(lc, req->target, &w);
    if (local_user(lc, &w, res) < 0)
        goto out;
    if (lc->privileged) {
        /* As local(8): a command never runs as root, default_privs instead. */
        if (lc->mailbox_command[0] && w.uid == 0)
            local_drop_privs(lc->default_uid, lc->default_gid, NULL);
        else
            local_drop_privs(w.uid, w.gid, w.user.data);
    }
    if (lc->mailbox_command[0]) {
        char **env = local_env_build(req, &w, w.user.data);

        local_command_run(lc, req, lc->mailbox_command, env, w.home.data, w.address.data, res);
        local_env_free(env);
        goto out;
    }
    if (lc->home_mailbox[0])
        buf_printf(&path, "%s/%s", w.home.data, lc->home_mailbox);
    else
        buf_printf(&path, "%s/%s", lc->mail_spool_directory, w.user.data);
    buf_printf(&what, "mailbox %s for user %s", path.data, w.user.data);
    if (path.data[path.len - 1] == '/')
        local_maildir_deliver(req, path.data, w.address.data, what.data, res);
    else
        local_mbox_append(req, path.data, w.address.data, what.data, res);
out:
    buf_free(&path);
    buf_free(&what);
    local_who_free(&w);
}

/* local_alias_target - a |command or /file from aliases, with its privileges */
static void local_alias_target(const struct local_conf *lc, const struct local_request *req,
                               struct local_result *res)
{
    struct local_who w;
    struct passwd *pw = getpwuid(req->uid);

    local_who_init(&w);
    local_split(lc, req->alias, &w);
    buf_setstr(&w.home, pw && pw->pw_dir ? pw->pw_dir : "/");
    buf_setstr(&w.shell, pw && pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh");
    if (lc->privileged) {
        if (req->uid == 0 || req->gid == 0) {
            local_result_set(res, "deferred", "4.3.0", "refusing to deliver to a %s as root", req->kind);
            local_who_free(&w);
            return;
        }
        local_drop_privs(req->uid, req->gid, pw ? pw->pw_name : NULL);
    }
    if (strcmp(req->kind, "command") == 0) {
        char **env = local_env_build(req, &w, w.user.data);

        local_command_run(lc, req, req->target, env, w.home.data, w.address.data, res);
        local_env_free(env);
    } else {
        struct buf what = BUF_INIT;

        buf_printf(&what, "file %s", req->target);
        if (req->target[strlen(req->target) - 1] == '/')
            local_maildir_deliver(req, req->target, w.address.data, what.data, res);
        else
            local_mbox_append(req, req->target, w.address.data, what.data, res);
        if (strcmp(res->status, "sent") == 0)
            local_result_set(res, "sent", "2.0.0", "delivered to file: %s", req->target);
        buf_free(&what);
    }
    local_who_free(&w);
}

/* local_deliver - deliver one target (see local_deliver.h) */
void local_deliver(const struct local_conf *lc, const struct local_request *req, struct local_result *res)
{
    const char *addr = strcmp(req->kind, "mailbox") == 0 ? req->target : req->alias;

    /* Past the file size limit a write fails (EFBIG) instead of killing us. */
    signal(SIGXFSZ, SIG_IGN);
    if (lc->mailbox_size_limit > 0) {
        struct rlimit rl;

        rl.rlim_cur = rl.rlim_max = (rlim_t) lc->mailbox_size_limit;
        if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
            msg_warn("%s: setrlimit RLIMIT_FSIZE: %m", req->queue_id);
    }
    if (local_loop_check(req, addr)) {
        local_result_set(res, "bounced", "5.4.6", "mail forwarding loop for %s", addr);
        return;
    }
    if (strcmp(req->kind, "mailbox") == 0)
        local_mailbox(lc, req, res);
    else if (strcmp(req->kind, "command") == 0 || strcmp(req->kind, "file") == 0)
        local_alias_target(lc, req, res);
    else
        local_result_set(res, "deferred", "4.3.0", "local delivery cannot handle a %s target", req->kind);
}
