/*
 * folder.h - delivery to folders, byte for byte as procmail 3.22 writes them.
 *
 * The evaluator hands over the message as it holds it (procmail's
 * "themail": the From_ line, the header, the body) and the part of it a
 * recipe delivers (all of it, the header only with `h`, the body only with
 * `b`), plus the names on the action line.  The first name decides:
 *
 *   "name"     a file (mbox): appended under an fcntl lock, with "\nFrom "
 *              escaped to "\n>From " (see below) and a newline added unless
 *              the part already ends in an empty line.  /dev/null is written
 *              raw, without lock.  Other names on the line are "Skipped".
 *   "dir/"     Maildir: dir, dir/tmp, dir/new, dir/cur are made as needed;
 *              the part (less a leading From_ line and the '>' lines right
 *              after it, when the part starts the message) is written to
 *              tmp/TIME.PID_N.HOST, fsynced, hard-linked to new/ (renamed
 *              when the filesystem cannot link) and only then visible.
 *   "dir/."    MH: the part goes to the next free number (highest number
 *              in dir, plus one), with its From_ line.
 *   "dir"      an existing directory: msg.XXXX ($MSGPREFIX and the inode
 *              number in procmail's base 64), with its From_ line.
 *
 * Later names on the action line are links to the first file: each one is
 * made a directory if it is not one (Maildir, MH and plain directories
 * alike), and the message is hard-linked into it under that folder's kind
 * of name; a name that cannot be made a directory is "Skipped".
 *
 * Escaping (mbox files only, and not with `r'): a line starting "From "
 * is written as ">From " when the "\n" ending the line before it lies in
 * the header at or after msg->start, or at or after msg->escape.  The
 * search for "\nFrom " stops at the end of the header and at a NUL byte
 * (procmail scans with strstr), so "From " lines after a NUL in the same
 * part of the message are not escaped, as in procmail.  The first body
 * line counts: its "\n" is the empty line's.  msg->escape is computed
 * when the message is read (mail.c, procmail's readmail): body - 1
 * normally (0 when body is 0); with a Content-Length: field and without
 * -Y, procmail first rewrites the field's value in place to the body's
 * length (less one when the message ends in "\n\n"), right-aligned in the
 * field's old width, or fills the field with 9s when the length does not
 * fit; escape is then body + that value (past the end is fine).  Real
 * procmail therefore escapes nothing in a body whose Content-Length is
 * right.  procmail finds the end of the header with strchr, so a NUL byte
 * in the header before the empty line makes the whole message header.
 *
 * Never loses a message: a failed append to an mbox (disk full, quota,
 * RLIMIT_FSIZE: SIGXFSZ is ignored while writing) is truncated back to the
 * size the file had; a Maildir, MH or directory message is written under a
 * temporary name and fsynced before it gets its real name, so it is seen
 * whole or not at all.  Directories are fsynced after the new name.
 *
 * Modes as procmail: files 0667 and directories 0777 less UMASK; when
 * UMASK leaves o+x alone and the folder (file or directory) lacks o+x, it
 * gets o+x after a delivery (procmail's new-mail mark).  The process umask
 * must be opts->umask when folder_deliver is called.
 *
 * Differences from procmail 3.22, on purpose: procmail sleeps a second
 * after the first byte of an mbox append when the file's atime equals its
 * mtime (so that atime < mtime signals new mail over NFS); we set the
 * atime one second before the mtime after the write instead.  procmail
 * sleeps until the next second after 4 Maildir names in one second; our
 * counter N goes on instead.  MH and directory messages are written before
 * they get their final name (procmail names first, then writes).
 *
 * For the evaluator (found by the differential suite, t/data/procsort/
 * todo.list): the log abstract's number is `written' (procmail's lastdump:
 * the part's bytes plus the '>' escapes plus the added newline; for a
 * pipe, folder_dump's), printed right-aligned in 7 columns (procmail's
 * ultstr(7, ...)); procmail starts with UMASK 077 whatever the invoking
 * umask; LOGFILE is created 0667 less UMASK, as every procmail file; a
 * program without `w' (and a forward) is not waited for.
 *
 * Trusts: the names (expanded by the evaluator, relative to the current
 * directory = MAILDIR) and the offsets in struct folder_msg.
 */
#ifndef PROCSORT_FOLDER_H
#define PROCSORT_FOLDER_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "libmatch/buf.h"
#include "procsort/folder_log.h"

enum folder_type {
    FOLDER_PIPE,    /* a pipe, stdout or /dev/null: raw stream, no lock */
    FOLDER_MAILDIR, /* "dir/" */
    FOLDER_MH,      /* "dir/." */
    FOLDER_FILE,    /* an mbox file */
    FOLDER_DIR,     /* an existing directory: msg.XXXX */
};

/* The message as the evaluator holds it: struct mail's fields (procsort/mail.h). */
struct folder_msg {
    const char *text; /* the whole message: From_ line, header, body */
    size_t len;
    size_t start;     /* one past the first byte that is not a leading newline (realstart) */
    size_t body;      /* offset of the body (past the empty line), len if none */
    size_t escape;    /* "\nFrom " in the body is escaped from here on (see above) */
    size_t from;      /* the part to deliver: text[from, from + count) */
    size_t count;
};

struct folder_opts {
    mode_t umask;             /* UMASK (procmail starts with 077) */
    const char *lockext;      /* LOCKEXT, ".lock" */
    const char *msgprefix;    /* MSGPREFIX, "msg." */
    long locktimeout;         /* LOCKTIMEOUT */
    long locksleep;           /* LOCKSLEEP */
    long suspend;             /* SUSPEND */
    long timeout;             /* TIMEOUT: bound on waiting for a kernel lock */
    int dotlock;              /* take $name$LOCKEXT around an mbox write
                               * (procmail does for $DEFAULT only) */
    const char *globlock;     /* LOCKFILE held now: that dotlock is not taken twice */
    int raw;                  /* `r`: no escaping, no added newline */
    int ignore_errors;        /* `i`: a write error still counts as delivered */
    struct folder_log log;
    volatile sig_atomic_t *stop; /* set by a signal handler: stop waiting for locks */
};

void folder_opts_init(struct folder_opts *opts);
void folder_msg_whole(struct folder_msg *msg, const char *text, size_t len, size_t start,
                      size_t body, size_t escape);
int folder_deliver(const char *const *names, int n, const struct folder_msg *msg,
                   const struct folder_opts *opts, struct buf *lastfolder, long *written,
                   struct buf *err);
int folder_dump(int fd, enum folder_type type, const struct folder_msg *msg,
                const struct folder_opts *opts, long *written);
enum folder_type folder_parse(const char *name, struct buf *base);
int folder_screen_mailbox(const char *path, uid_t uid, gid_t gid, const char *logname,
                          const struct folder_opts *opts, gid_t *sgid);

#define FOLDER_SCREEN_AUTOFORWARD (-2) /* exit EX_NOUSER, as procmail */

/*
 * folder_deliver returns 0 when the message is in the first folder (or
 * when `i` says a write error does not matter) and -1 when it is not, with
 * the reason in err (procmail's words are also logged).  lastfolder gets
 * what procmail assigns to LASTFOLDER: the file's name (set even when the
 * open fails, as procmail does), or dir/new/NAME, dir/N, dir/msg.XXXX,
 * followed by " name" for each link made; it is left empty when procmail
 * would not assign LASTFOLDER.  written (may be NULL) gets the number of
 * bytes the log abstract shows ("Folder: x   NNN").
 *
 * folder_dump writes a part of the message to an open descriptor as
 * procmail's dump() does for the given type (FOLDER_PIPE for `| cmd`,
 * filters and stdout: no escaping, a newline added unless the part ends in
 * an empty line or opts->raw), fsyncs it when it is a file and closes it.
 * Returns 0 when everything was written, -1 with errno otherwise.
 *
 * folder_screen_mailbox is procmail's check of the recipient's system
 * mailbox ($ORGMAIL) before a delivery as root (-d), see folder_screen.c:
 * a bogus mailbox (not the recipient's, unwritable, a symlink, a hard
 * link) is renamed BOGUS.$LOGNAME.INODE and a new one made, a missing one
 * is made (0600, the recipient's), too loose permissions are tightened
 * unless u+x is set.  Call it with the privileges to do that (as root,
 * before switching to the recipient), opts->umask = 077 as procmail
 * starts.  Returns 0 when the mailbox is fit, -1 when it cannot be made
 * so (procmail then leaves ORGMAIL empty), FOLDER_SCREEN_AUTOFORWARD for a
 * setuid/setgid mailbox (procmail exits EX_NOUSER, 67).  *sgid (when
 * sgid is not NULL) gets the group the mailbox's lockfile must be made
 * with: the spool directory's where procmail keeps it (a spool the
 * recipient does not own that is setgid or not world-writable), else gid.
 */

#endif
