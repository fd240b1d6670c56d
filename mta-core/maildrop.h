/*
 * maildrop.h - local submission: mta-sendmail(8) drops messages into the
 * maildrop, and the daemon picks them up into the queue.
 *
 * The maildrop is $queue_directory/maildrop, laid out as a queue of its
 * own (queue.h): the submission program writes a queue file with
 * queue_create()/queue_commit() into maildrop/incoming/ (sender,
 * recipients, MAIL FROM parameters, the full name for From:, the content
 * as it came), fsynced and renamed there in one step; the daemon never
 * sees half a file.  maildrop/incoming is world-writable, sticky and
 * set-group-id (3777, as /tmp, plus the group: nobody can remove another
 * user's file, and every file takes the daemon's group), each file is
 * mode 0640 (its owner and the daemon read it, nobody else), and the
 * directories above can be traversed but not listed (0711).  So any local
 * user or program (cron, procsort's "! address" forwards running as the
 * recipient) can submit, also while the daemon is down: the mail waits
 * there, never lost.  (Postfix reaches the same with a setgid postdrop
 * program; this needs no privileged program at all.)
 *
 * The pickup (in the queue manager's process, once a second) treats each
 * file as untrusted: it must be a regular file with one link, parse as a
 * queue file, stay within message_size_limit and MAILDROP_RCPT_MAX
 * recipients with sane addresses; the submitter is the file's owner (its
 * uid goes into the log and the Received: header, never a claim from the
 * file).  Then, as Postfix's pickup and cleanup do for local mail: bare
 * names get @$myorigin (envelope and headers), Bcc: goes, and missing
 * From:, Date: and Message-Id: headers are added.  A file that fails the
 * checks goes to $queue_directory/corrupt/ as "maildrop-ID" with a
 * warning, for a human.
 */
#ifndef MAILSIFT_MAILDROP_H
#define MAILSIFT_MAILDROP_H

#include <stdio.h>

#include "libmatch/buf.h"

#define MAILDROP_DIR "maildrop"     /* under queue_directory */
#define MAILDROP_RCPT_MAX 10000     /* recipients in one submission */
#define MAILDROP_ADDR_MAX 512       /* bytes in one address */
#define MAILDROP_STALE_SECONDS 86400 /* a temporary file this old was abandoned */

struct config;
struct event_base;

void maildrop_root(struct buf *out, const char *queue_dir);

/* The submission side (mta-sendmail). */
struct maildrop_sub {
    struct config *cfg;
    char *sender;               /* NULL: the login name */
    char *full_name;            /* -F, or NULL */
    char **rcpts;               /* from the command line (and -t) */
    size_t nrcpt;
    int notify;                 /* -N, QUEUE_NOTIFY_* */
    char *ret;                  /* -R: FULL or HDRS */
    char *envid;                /* -V */
    char *body;                 /* -B: 7BIT or 8BITMIME */
    int extract;                /* -t */
    int dot_ends;               /* without -i: a line "." ends the message */
    uid_t uid;
};

void maildrop_sub_init(struct maildrop_sub *s, struct config *cfg);
void maildrop_sub_free(struct maildrop_sub *s);
void maildrop_sub_rcpt(struct maildrop_sub *s, const char *addr);
int maildrop_submit(struct maildrop_sub *s, FILE *in, char *id, struct buf *err);
int maildrop_smtp(struct config *cfg, uid_t uid, FILE *in, FILE *out);

/*
 * maildrop_submit() reads one message from in and drops it: EX_OK with
 * its maildrop id, or a sysexits code with err ("No recipient addresses
 * found in message header": EX_USAGE, too big: EX_DATAERR, a write error:
 * EX_TEMPFAIL).  maildrop_smtp() is "sendmail -bs": an SMTP server on in
 * and out that drops each message; its exit status.
 */

/* The daemon side. */
void maildrop_start(struct event_base *base, struct config *cfg);
void maildrop_stop(void);
int maildrop_init_dirs(const char *queue_dir, struct buf *err);
size_t maildrop_pickup(struct config *cfg);

/*
 * maildrop_start() creates the maildrop and looks into it once a second
 * (and at once); maildrop_pickup() takes everything there now into the
 * queue and returns how many messages it took (tests call it directly).
 */

#endif
