/*
 * smtpd_session.h - one SMTP client: the state shared by smtpd_session.c
 * (I/O, the input loop, replies, timeouts, logging), smtpd_cmd.c (the
 * commands) and smtpd_data.c (message content and the queue).
 *
 * The session is an explicit state machine.  Input is only read in the
 * states that want it (COMMAND, LONGLINE, DATA, BDAT); while a hook is
 * deciding (smtpd_hooks.h), while a reply is held back after too many
 * errors, during the TLS handshake and while the client's name is looked
 * up, reading stops (and with it the read timeout), and the bytes the
 * client pipelined wait in the input buffer.
 */
#ifndef MAILSIFT_SMTPD_SESSION_H
#define MAILSIFT_SMTPD_SESSION_H

#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include "libmatch/buf.h"
#include "mta-core/smtpd_content.h"
#include "mta-core/smtpd_hooks.h"
#include "mta-core/smtpd_msg.h"
#include "mta-core/smtpd_parse.h"

struct bufferevent;
struct event;
struct queue_file;
typedef struct ssl_st SSL;

enum smtpd_state {
    SMTPD_ST_LOOKUP,   /* the client's name is being looked up; nothing said yet */
    SMTPD_ST_CONNECT,  /* CONNECT hooks are deciding; the greeting waits */
    SMTPD_ST_COMMAND,  /* waiting for a command line */
    SMTPD_ST_LONGLINE, /* dropping the rest of a command line that is too long */
    SMTPD_ST_DATA,     /* reading DATA content up to CRLF.CRLF */
    SMTPD_ST_BDAT,     /* reading the bytes of a BDAT chunk */
    SMTPD_ST_TLS,      /* STARTTLS handshake under way */
    SMTPD_ST_CLOSING,  /* the last reply is being written; then close */
};

/* Commands, for the per-command counts of the disconnect log line. */
enum smtpd_cmd_id {
    SMTPD_CMD_HELO,
    SMTPD_CMD_EHLO,
    SMTPD_CMD_STARTTLS,
    SMTPD_CMD_MAIL,
    SMTPD_CMD_RCPT,
    SMTPD_CMD_DATA,
    SMTPD_CMD_BDAT,
    SMTPD_CMD_RSET,
    SMTPD_CMD_NOOP,
    SMTPD_CMD_VRFY,
    SMTPD_CMD_HELP,
    SMTPD_CMD_QUIT,
    SMTPD_CMD_UNKNOWN,
    SMTPD_CMD_COUNT,
    SMTPD_CMD_NONE = -1,
};

/* How a message transaction is going. */
enum smtpd_xact {
    SMTPD_X_NONE,    /* no MAIL yet */
    SMTPD_X_MAIL,    /* MAIL accepted, maybe recipients too */
    SMTPD_X_CONTENT, /* DATA or BDAT content being received */
    SMTPD_X_BDAT,    /* between BDAT chunks */
};

/* What happens when the hooks have decided (set by smtpd_session_hooks). */
struct smtpd_session;
typedef void (*smtpd_after_fn)(struct smtpd_session *s);

struct smtpd_session {
    enum smtpd_state state;
    enum smtpd_xact xact;
    int fd;
    struct bufferevent *bev;
    struct event *resume_ev;  /* runs the after-hooks step from the loop */
    struct event *sleep_ev;   /* error sleep: releases the held replies */
    struct event *flush_ev;   /* closing with TLS: waits for the last bytes to go out */
    int flush_tries;
    SSL *ssl;                 /* after STARTTLS */
    struct smtpd_resolve_job *lookup;
    struct smtpd_commit_job *commit; /* the queue commit under way: no input meanwhile */
    int commit_rc;            /* its result, for smtpd_committed() */

    /* Who. */
    struct smtpd_client client;
    char addr[64];
    char port[8];
    char server_addr[64];
    char server_port[8];
    char *name;
    char *namaddr;
    char *helo;
    char *protocol;
    char *tls_version;
    char *tls_cipher;
    int esmtp;                /* EHLO was used */
    int anvil_counted;
    int limits_excepted;      /* smtpd_client_event_limit_exceptions matched */

    /* Hooks. */
    struct smtpd_hook_chain *chain;
    struct smtpd_event ev;    /* the event being decided (kept for async hooks) */
    smtpd_after_fn after;     /* what to do with the verdict */
    int in_run;               /* inside smtpd_chain_run() */
    int verdict_ready;        /* a verdict arrived, after() not yet run */
    enum smtpd_action action; /* the verdict */
    struct buf vreply;
    struct buf vrule;
    struct buf vlabel;
    struct buf denied;        /* a CONNECT rejection: the reply for later commands */

    /* The current command. */
    struct buf line;          /* the command line, CRLF removed */
    const char *args;         /* into line: after the verb and one space */
    enum smtpd_cmd_id cmd;
    const char *where;        /* "RCPT", "DATA", "END-OF-MESSAGE"... for log lines */
    struct smtpd_path path;   /* MAIL/RCPT argument */
    char *esmtp_argv[SMTPD_PARAMS_MAX + 1];

    /* The transaction. */
    struct smtpd_msg *msg;
    struct queue_file *qf;
    char *queue_id;
    int discard;              /* a DISCARD verdict: accept, then drop */
    unsigned long long declared_size;
    size_t rcpt_tried;        /* RCPT commands in this transaction */

    /* Content (DATA, BDAT). */
    struct smtpd_content content;
    int content_active;
    enum smtpd_action content_action; /* a refusal during content, replied at the end */
    struct buf content_reply;
    unsigned long long bdat_left; /* bytes of the chunk still to read */
    unsigned long long bdat_chunk; /* the size of this chunk */
    int bdat_last;
    int bdat_skip;            /* this chunk is read and dropped (an error was replied) */
    int bdat_failed;          /* the BDAT transaction failed: drop chunks until LAST */
    unsigned long long bdat_size; /* bytes received in all chunks */

    /* Limits and counts. */
    long error_count;
    long junk_count;
    int sleeping;
    struct buf held;          /* replies held back during an error sleep */
    unsigned counts[SMTPD_CMD_COUNT][2]; /* [total, ok] */
    int counted_final;        /* the current command's outcome is counted */
    int eof;                  /* the client sent its last byte */
    int dead;                 /* free at the end of the current callback */
    struct smtpd_session *next, *prev; /* every session, for the shutdown */
    int busy_depth;           /* callbacks on the stack */
};

/* smtpd_session.c */
void smtpd_session_start(int fd, const struct sockaddr *sa, socklen_t salen);
void smtpd_sessions_close_all(void);
void smtpd_reply(struct smtpd_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void smtpd_reply_text(struct smtpd_session *s, const char *reply);
void smtpd_close(struct smtpd_session *s);
void smtpd_hooks_start(struct smtpd_session *s, enum smtpd_stage stage, smtpd_after_fn after);
void smtpd_log_reject(struct smtpd_session *s, const char *action, const char *reply);
void smtpd_set_read(struct smtpd_session *s, int on);
void smtpd_session_later(struct smtpd_session *s, smtpd_after_fn fn);
void smtpd_set_bev(struct smtpd_session *s, struct bufferevent *bev);
const char *smtpd_qid(const struct smtpd_session *s);

/* smtpd_cmd.c */
void smtpd_command(struct smtpd_session *s);
void smtpd_greet(struct smtpd_session *s);
void smtpd_xact_reset(struct smtpd_session *s);
void smtpd_tls_done(struct smtpd_session *s);

/* smtpd_data.c */
void smtpd_data_begin(struct smtpd_session *s);
int smtpd_data_input(struct smtpd_session *s);
void smtpd_bdat(struct smtpd_session *s);

#endif
