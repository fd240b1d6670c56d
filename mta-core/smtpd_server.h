/*
 * smtpd_server.h - the SMTP server: its settings, its listeners and the
 * pieces the session modules share.
 *
 *   smtpd_server.c   settings, listeners, accepting, signals, the loop
 *   smtpd_listen.c   parsing smtpd_listen and binding the sockets
 *   smtpd_privs.c    dropping root privileges, in one function
 *   smtpd_resolve.c  client host names, looked up off the event loop
 *   smtpd_anvil.c    per-client connection, message and recipient limits
 *   smtpd_session.c  one client: I/O, the command loop, replies, logging
 *   smtpd_cmd.c      the SMTP commands
 *   smtpd_data.c     DATA and BDAT: content, end of message, the queue
 *   smtpd_policy.c   the built-in policy hook (relay control, access_maps)
 *   tls_server.c     OpenSSL for STARTTLS
 */
#ifndef MAILSIFT_SMTPD_SERVER_H
#define MAILSIFT_SMTPD_SERVER_H

#include <stddef.h>
#include <sys/socket.h>

#include "libmatch/buf.h"
#include "libmatch/config.h"

struct event_base;
struct maps_list;
typedef struct ssl_ctx_st SSL_CTX;

#define SMTPD_TLS_NONE 0    /* no STARTTLS */
#define SMTPD_TLS_MAY 1     /* STARTTLS offered */
#define SMTPD_TLS_ENCRYPT 2 /* STARTTLS required before MAIL */

/* Settings, read once at start-up (tables reload themselves, see maps_lookup.h). */
struct smtpd_conf {
    struct config *cfg;
    struct event_base *base;
    char *myhostname;
    char *banner;
    char *mail_name;
    char *queue_dir;
    long timeout;           /* smtpd_timeout, seconds */
    long starttls_timeout;  /* smtpd_starttls_timeout */
    long soft_error_limit;
    long hard_error_limit;
    long error_sleep;       /* smtpd_error_sleep_time, seconds */
    long junk_limit;
    long rcpt_limit;
    long line_limit;        /* command lines */
    long header_limit;      /* header_size_limit */
    unsigned long long size_limit; /* message_size_limit, 0: none */
    long bare_lf_code;
    long process_limit;
    int helo_required;
    int vrfy_disabled;
    int smtputf8;
    int peername_lookup;
    int tls_level;          /* SMTPD_TLS_* */
    int tls_received_header;
    SSL_CTX *tls;
    char **forbidden;       /* smtpd_forbidden_commands, NULL-terminated */
    /* Per-client limits (smtpd_anvil.c). */
    long rate_unit;
    long conn_count_limit;
    long conn_rate_limit;
    long msg_rate_limit;
    long rcpt_rate_limit;
    struct maps_list *limit_exceptions;
};

extern struct smtpd_conf *smtpd_conf;

int smtpd_conf_load(struct config *cfg, struct smtpd_conf *conf, struct buf *err);
void smtpd_server_run(struct config *cfg);
void smtpd_session_ended(void);
void smtpd_queue_committed(const char *queue_id);

/* smtpd_listen.c */
struct smtpd_listener {
    int fd;
    char *name; /* "127.0.0.1:2525" as bound */
};

int smtpd_listen_open(const char *value, struct smtpd_listener **out, size_t *count, struct buf *err);

/* smtpd_privs.c */
void smtpd_privs_drop(const char *user);
int smtpd_privs_owner(const char *user, const char *path, int mode, struct buf *err);

/* smtpd_resolve.c */
typedef void (*smtpd_resolve_fn)(void *ctx, const char *name);
struct smtpd_resolve_job;

void smtpd_resolve_init(struct event_base *base);
struct smtpd_resolve_job *smtpd_resolve_start(const struct sockaddr *sa, socklen_t len,
                                              smtpd_resolve_fn done, void *ctx);
void smtpd_resolve_cancel(struct smtpd_resolve_job *job);

/* smtpd_commit.c */
struct queue_file;
typedef void (*smtpd_commit_fn)(void *ctx, int rc, const char *err);
struct smtpd_commit_job;

void smtpd_commit_init(struct event_base *base);
struct smtpd_commit_job *smtpd_commit_start(struct queue_file *qf, smtpd_commit_fn done, void *ctx);
void smtpd_commit_cancel(struct smtpd_commit_job *job);

/* smtpd_anvil.c */
#define SMTPD_ANVIL_OK 0
#define SMTPD_ANVIL_COUNT 1 /* too many connections at once */
#define SMTPD_ANVIL_RATE 2  /* too many connections per time unit */

void smtpd_anvil_connect(const char *addr);
void smtpd_anvil_disconnect(const char *addr);
int smtpd_anvil_check(const char *addr, long *count);
int smtpd_anvil_event(const char *addr, int what, long limit, long *count);
#define SMTPD_ANVIL_MSG 0
#define SMTPD_ANVIL_RCPT 1

/* smtpd_policy.c */
int smtpd_policy_init(struct config *cfg, struct buf *err);

/* tls_server.c */
SSL_CTX *tls_server_init(struct config *cfg, int *level, struct buf *err);

#endif
