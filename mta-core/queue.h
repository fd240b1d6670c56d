/*
 * queue.h - mta-core's mail queue: writing a message durably, reading it
 * back, moving it between queues, and the queue manager that delivers it.
 *
 * Layout under queue_directory (created on demand, mode 0700):
 *
 *   incoming/  committed messages the queue manager has not looked at yet
 *              (and ".tmp-PID-N" files still being written: never read)
 *   active/    messages the queue manager owns and is delivering
 *   deferred/  messages waiting for a retry; the file's mtime is the time
 *              of the next attempt (as Postfix does)
 *   hold/      quarantine: never delivered, never expired, until mtaq acts
 *   corrupt/   files that failed to parse, kept for a human
 *
 * A queue id is the file's name and stays the same in every queue.  It is
 * Postfix "long id" style: arrival seconds (6 digits) and microseconds (4)
 * in a base-51 alphabet whose order is ASCII order, then 'z', then the
 * inode number in the same alphabet; so ids are unique while the file
 * exists and sort by arrival time.
 *
 * The file format (version 1) is a sequence of records, each
 *
 *     TYPE LENGTH ':' DATA '\n'       e.g.  "S17:alice@example.org\n"
 *
 * TYPE one letter, LENGTH in decimal, DATA exactly LENGTH bytes of
 * anything, then a newline that a reader checks: a torn record is seen as
 * such.  Record types and order:
 *
 *   V "1"              version, always first
 *   C fixed width      "ENVOFF SIZE NRCPT": offset of the envelope records,
 *                      content size in bytes (lines counted with a one-byte
 *                      LF terminator) and recipient count; all zero until
 *                      the commit rewrites it in place
 *   T "SEC.USEC"       arrival time
 *   M ""               the content begins
 *   N line             a content line (its terminator removed)
 *   L piece            part of a long line; the line goes on in the next
 *                      N or L record (a final L before X: no last newline)
 *   X ""               the content ends
 *   -- envelope (written at commit, after the content, so that it can be
 *      edited until then):
 *   A "name=value"     attributes: client_address, client_name, helo_name,
 *                      protocol, and whatever the writer adds
 *   S address          envelope sender ("" for the null sender)
 *   P "NAME=value"     a MAIL FROM ESMTP parameter (BODY, SMTPUTF8, RET, ENVID)
 *   R "NOTIFY\tORCPT\taddress"  a recipient: NOTIFY flags in decimal
 *                      (QUEUE_NOTIFY_*), ORCPT as received (xtext) or ""
 *   H reason           put in hold with this reason (commit into hold/)
 *   E ""               the end: the message is complete
 *   -- appended later by the queue manager and mtaq, each with one write(2)
 *      on an O_APPEND descriptor and fsynced (but D records, as Postfix's
 *      "done" marks: lost in a crash, the target is delivered again):
 *   Y "PARENT\tKIND\tUID\tGID\tALIAS\tTARGET"  one delivery target that
 *                      recipient number PARENT expanded into (aliases,
 *                      virtual); KIND is mailbox, command, file or relay
 *   K "N"              the expansion is complete: N targets
 *   D "TARGET\tSTATUS\tDSN\tTIME\ttext"  a delivery result for target
 *                      number TARGET: sent and bounced are final, deferred
 *                      is the last temporary error
 *   H reason           held again (mtaq hold), with the reason
 *   W "DSN\tTIME\ttext"  the whole message was deferred before it could be
 *                      expanded (an alias map could not be read)
 *   G "TIME"           a delay warning was sent to the sender (bounce_dsn.c):
 *                      never another one for this message
 *
 * A reader ignores a torn last record (a crash while appending): the
 * recipient it was about is delivered again, never lost.
 *
 * Trust: queue files are written by mta-core only, but a reader still
 * checks every length before reading and treats a malformed file as
 * corrupt (moved to corrupt/ by the queue manager), never as a reason to
 * abort.
 */
#ifndef MAILSIFT_QUEUE_H
#define MAILSIFT_QUEUE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/time.h>
#include <sys/types.h>

#include "libmatch/buf.h"

#define QUEUE_INCOMING "incoming"
#define QUEUE_ACTIVE "active"
#define QUEUE_DEFERRED "deferred"
#define QUEUE_HOLD "hold"
#define QUEUE_CORRUPT "corrupt"

/* DSN NOTIFY= flags (RFC 3461) for queue_add_rcpt(); 0 means not given. */
#define QUEUE_NOTIFY_NEVER (1 << 0)
#define QUEUE_NOTIFY_SUCCESS (1 << 1)
#define QUEUE_NOTIFY_FAILURE (1 << 2)
#define QUEUE_NOTIFY_DELAY (1 << 3)

/* The longest queue id, with its terminator. */
#define QUEUE_ID_SIZE 32

/*
 * Writing a message (smtpd, the milter client, the submission command).
 *
 *   qf = queue_create(queue_dir, &err);    the id is known from here on
 *   queue_set_sender(qf, "a@b");  queue_add_sender_param(qf, "BODY", "8BITMIME");
 *   queue_add_rcpt(qf, "c@d", QUEUE_NOTIFY_FAILURE, "rfc822;c@d");
 *   queue_write(qf, bytes, len)...         the content, after dot-unstuffing
 *   queue_commit(qf, &err)                 0: on disk, fsynced: say 250
 *
 * Every call but queue_commit() and queue_abort() may be made in any order
 * before the commit.  A write error is remembered and reported by
 * queue_commit(), which then removes the file: the caller answers 4xx.
 * queue_commit() and queue_abort() free qf (take the id before).
 */
struct queue_file;

struct queue_file *queue_create(const char *queue_dir, struct buf *err);
const char *queue_file_id(const struct queue_file *qf);
void queue_set_sender(struct queue_file *qf, const char *sender);
void queue_add_sender_param(struct queue_file *qf, const char *name, const char *value);
void queue_add_attr(struct queue_file *qf, const char *name, const char *value);
void queue_add_rcpt(struct queue_file *qf, const char *address, int notify, const char *orcpt);
int queue_del_rcpt(struct queue_file *qf, const char *address);
size_t queue_rcpt_count(const struct queue_file *qf);
void queue_set_hold(struct queue_file *qf, const char *reason);
int queue_write(struct queue_file *qf, const void *data, size_t len);
int queue_content_reset(struct queue_file *qf);
int queue_content_fd(struct queue_file *qf, off_t *start, off_t *end);
size_t queue_content_size(const struct queue_file *qf);
int queue_commit(struct queue_file *qf, struct buf *err);
void queue_abort(struct queue_file *qf);

/*
 * queue_write() takes content bytes as they arrive: a line ends at LF,
 * and a CR right before it is dropped (CRLF and LF both end a line; a bare
 * CR elsewhere is kept as data).  queue_content_reset() throws away the
 * content written so far (a milter replaced the body); queue_content_fd()
 * gives a descriptor and the byte range of the content records written so
 * far, for queue_content_open() below (the milter client reads it back).
 */

/*
 * Reading a queue file (the queue manager, mtaq, tests).
 */
struct queue_rcpt {
    char *address;
    char *orcpt;    /* as received, "" when none */
    int notify;     /* QUEUE_NOTIFY_* */
};

/* One delivery target (a Y record) and what became of it (D records). */
struct queue_target {
    size_t parent;  /* index into rcpts */
    char *kind;     /* "mailbox", "command", "file", "relay" */
    uid_t uid;      /* privileges for command and file targets */
    gid_t gid;
    char *alias;    /* the address whose expansion produced it */
    char *target;   /* the address, command or file name */
    char *status;   /* NULL (not tried), "sent", "bounced", "deferred" */
    char *dsn;      /* of the last D record, or NULL */
    char *text;     /* its text, or NULL */
    long when;      /* its time */
};

struct queue_attr {
    char *name;
    char *value;
};

struct queue_msg {
    char id[QUEUE_ID_SIZE];
    char *path;             /* where it was read from */
    struct timeval arrival;
    size_t size;            /* content size */
    off_t content_start;    /* first content record (after M) */
    off_t content_end;      /* the X record */
    char *sender;
    struct queue_attr *params;  /* MAIL FROM parameters */
    size_t nparams;
    struct queue_attr *attrs;
    size_t nattrs;
    struct queue_rcpt *rcpts;
    size_t nrcpt;
    char *hold_reason;      /* the last H record, or NULL */
    char *defer_dsn;        /* the last W record, or NULL */
    char *defer_text;
    long defer_when;
    long warned;            /* the last G record's time, 0: no delay warning sent */
    struct queue_target *targets;
    size_t ntargets;
    int expanded;           /* a K record closed the target list */
    off_t expand_start;     /* where the Y records begin (or would) */
    off_t file_size;        /* bytes of whole records read */
};

int queue_read(const char *path, struct queue_msg **msgp, struct buf *err);
int queue_read_fd(int fd, const char *path, struct queue_msg **msgp, struct buf *err);
void queue_msg_free(struct queue_msg *msg);
const char *queue_msg_attr(const struct queue_msg *msg, const char *name);
const char *queue_msg_param(const struct queue_msg *msg, const char *name);

/*
 * queue_read() returns 0 and a message, or -1 with err saying what is
 * wrong (missing, not committed, malformed).  Appending records to a
 * committed file (the queue manager's job, and mtaq's for H): one at a
 * time, or formatted into a buffer first and written with one write and
 * one fsync (queue_append_records):
 */
int queue_append(int fd, int type, const char *data, size_t len, struct buf *err);
int queue_append_records(int fd, const struct buf *records, struct buf *err);
void queue_format_record(struct buf *out, int type, const char *data, size_t len);
void queue_format_target(struct buf *out, size_t parent, const char *kind, uid_t uid, gid_t gid,
                         const char *alias, const char *target);
void queue_format_status(struct buf *out, size_t target, const char *status, const char *dsn, long when,
                         const char *text);
int queue_append_target(int fd, size_t parent, const char *kind, uid_t uid, gid_t gid,
                        const char *alias, const char *target, struct buf *err);
int queue_append_status(int fd, size_t target, const char *status, const char *dsn,
                        long when, const char *text, struct buf *err);

/*
 * Content: queue_content_open() walks the N/L records between two
 * offsets; queue_content_next() returns 1 with one line (without its
 * terminator) and *eol set when the line had one, 0 at the end, -1 on a
 * malformed record or a read error (err says which).
 */
struct queue_content;

struct queue_content *queue_content_open(int fd, off_t start, off_t end);
int queue_content_next(struct queue_content *qc, struct buf *line, int *eol, struct buf *err);
void queue_content_close(struct queue_content *qc);

/*
 * Directories and ids.  queue_path() builds "queue_dir/queue/id".
 * queue_find() says which queue holds id (NULL: none).  queue_move()
 * renames a file from one queue to another, never replacing a file, and
 * fsyncs the destination directory.  The queue manager's own moves
 * (incoming or deferred to active, active to deferred or corrupt) and
 * its removal of a finished message use the _nosync forms, as Postfix's
 * qmgr does: lost in a crash, such a rename or unlink only leaves the
 * message where it was (incoming/ or active/), and it is delivered again:
 * a duplicate, never a loss.  What a human asks for (mtaq hold, release,
 * delete) stays durable.  queue_id_ok() checks the syntax of an
 * id from a user (mtaq), so that "../x" never reaches a path.
 */
int queue_init_dirs(const char *queue_dir, struct buf *err);
void queue_path(struct buf *out, const char *queue_dir, const char *queue, const char *id);
const char *queue_find(const char *queue_dir, const char *id);
int queue_move(const char *queue_dir, const char *id, const char *from, const char *to, struct buf *err);
int queue_remove(const char *queue_dir, const char *queue, const char *id, struct buf *err);
int queue_move_nosync(const char *queue_dir, const char *id, const char *from, const char *to,
                      struct buf *err);
int queue_remove_nosync(const char *queue_dir, const char *queue, const char *id, struct buf *err);
int queue_id_ok(const char *id);
int queue_fsync_dir(const char *dir, struct buf *err);
int queue_scan(const char *queue_dir, const char *queue, char ***idsp, size_t *countp, struct buf *err);
void queue_ids_free(char **ids, size_t count);
int queue_recover(const char *queue_dir, struct buf *err);

extern const char *const queue_names[]; /* incoming, active, deferred, hold: NULL-terminated */

/*
 * The queue manager, inside mta-core's event loop.  qmgr_start() creates
 * the queue directories, puts back to work everything committed (active
 * and incoming), removes what was never committed, and from then on
 * delivers; msg_fatal() when the queue directory is unusable.
 * qmgr_kick() says "something new in incoming/" (after each commit), so
 * that delivery starts at once instead of at the next directory poll.
 * Run as root (without home_base), deliveries take each recipient's
 * identity.  A process that runs the queue manager and stays root just
 * calls qmgr_start().  One that will give up root after qmgr_start() (the
 * queue manager in the SMTP process) calls qmgr_init() first, while still
 * root: it reads the alias maps and forks a small privileged helper that
 * starts the deliveries.  Unprivileged, deliveries run as the daemon's
 * own user (home_base).
 * qmgr_stop() stops starting deliveries and waits (a bounded time) for
 * those under way, recording their results; one that outlives the wait is
 * tried again at the next start (at-least-once, never lost).
 */
struct event_base;
struct config;

void qmgr_init(struct config *cfg);
void qmgr_start(struct event_base *base, struct config *cfg);
void qmgr_kick(void);
void qmgr_stop(void);

/*
 * Bounces: when every target of a message is final and some bounced, the
 * queue manager calls the bounce hook (the DSN generator registers it)
 * with the message read back (targets with status "bounced" and their
 * dsn and text) and the queue file open for appending.  0: notified (the
 * message is then removed); -1: try again later (the message is deferred).
 * Without a hook the failures are logged and the message removed.
 */
typedef int (*qmgr_bounce_fn)(const struct queue_msg *msg, int fd, struct config *cfg);

void qmgr_set_bounce(qmgr_bounce_fn fn);

/*
 * Delay warnings: when a message with a sender goes (back) to deferred/,
 * the queue manager calls the delay hook (bounce_dsn.c registers it) with
 * the message read back and its queue file open for appending; the hook
 * decides (delay_warning_time, the G record) and may send one warning.
 */
typedef void (*qmgr_delay_fn)(const struct queue_msg *msg, int fd, struct config *cfg);

void qmgr_set_delay_warning(qmgr_delay_fn fn);

/*
 * The queue manager reaps its own delivery processes (SIGCHLD through
 * libevent, waitpid() on their pids): nothing else in mta-core may wait
 * for pid -1.
 */

#endif
