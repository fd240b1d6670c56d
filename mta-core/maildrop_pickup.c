/*
 * maildrop_pickup.c - the daemon side of the maildrop: every file that a
 * local user committed to maildrop/incoming/ becomes a message in the
 * queue (see maildrop.h for the checks), the way Postfix's pickup and
 * cleanup treat local mail:
 *
 *   Received: by HOST (mailsift, from userid UID)
 *           id QUEUEID; DATE
 *
 * first, then the header with bare names completed with @$myorigin (From:,
 * To:, Cc:, ... through masq_addr.c), Bcc: and Resent-Bcc: removed, and
 * From:, Date: and Message-Id: added at its end when missing (From: from
 * the sender and the -F full name); an empty line is put between header
 * and body when the message had none; the body as it came.
 *
 * With non_smtpd_milters, the converted message goes to the milters
 * before it is committed (maildrop_milter.c) and the maildrop file stays
 * until they have decided.
 *
 * Logged: "ID: uid=UID from=<sender>" as Postfix's pickup logs it.
 * Trusts: nothing in the maildrop but the kernel's word on the file's
 * owner.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/config.h"
#include "libmatch/header.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/maildrop.h"
#include "mta-core/maildrop_milter.h"
#include "mta-core/masq_addr.h"
#include "mta-core/queue.h"

#define MAILDROP_HEADER_MAX 102400 /* bytes of one logical header that is rewritten */

static struct event *maildrop_tick;
static struct config *maildrop_cfg;

/* maildrop_mkdir - a directory with exactly this mode */
static int maildrop_mkdir(const char *path, mode_t mode, struct buf *err)
{
    if (mkdir(path, mode) < 0 && errno != EEXIST) {
        buf_printf(err, "create %s: %s", path, strerror(errno));
        return -1;
    }
    if (chmod(path, mode) < 0) {
        buf_printf(err, "chmod %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * maildrop_init_dirs - queue_directory traversable, maildrop/incoming
 * writable by all, sticky, and set-group-id: each file takes the
 * directory's group, the daemon's, and mta-sendmail makes it readable by
 * that group only
 */
int maildrop_init_dirs(const char *queue_dir, struct buf *err)
{
    struct buf path = BUF_INIT;
    struct stat st;
    int rc = 0;

    if (stat(queue_dir, &st) < 0) {
        buf_printf(err, "%s: %s", queue_dir, strerror(errno));
        return -1;
    }
    /* Others may pass through to the maildrop, never list the queues. */
    if ((st.st_mode & 0011) != 0011 && chmod(queue_dir, (st.st_mode & 07777) | 0011) < 0) {
        buf_printf(err, "chmod %s: %s", queue_dir, strerror(errno));
        return -1;
    }
    maildrop_root(&path, queue_dir);
    rc = maildrop_mkdir(path.data, 0711, err);
    if (rc == 0) {
        buf_printf(&path, "/%s", QUEUE_INCOMING);
        rc = maildrop_mkdir(path.data, 03777, err);
    }
    buf_free(&path);
    return rc;
}

/* maildrop_valid_addr - an address from the maildrop we are willing to queue */
static int maildrop_valid_addr(const char *addr, int empty_ok)
{
    const unsigned char *p;

    if (*addr == 0)
        return empty_ok;
    if (strlen(addr) > MAILDROP_ADDR_MAX)
        return 0;
    for (p = (const unsigned char *) addr; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* maildrop_corrupt - a file that failed the checks goes to corrupt/ for a human */
static void maildrop_corrupt(const char *queue_dir, const char *path, const char *id, const char *why)
{
    struct buf dst = BUF_INIT;

    buf_printf(&dst, "%s/%s/maildrop-%s", queue_dir, QUEUE_CORRUPT, id);
    msg_warn("maildrop %s: %s: moved to %s", id, why, dst.data);
    if (rename(path, dst.data) < 0) {
        msg_warn("maildrop %s: rename to %s: %s: removed instead", id, dst.data, strerror(errno));
        unlink(path);
    }
    buf_free(&dst);
}

/* maildrop_date - an RFC 5322 date */
static void maildrop_date(struct buf *out, time_t when)
{
    char tmp[64];
    struct tm tm;

    localtime_r(&when, &tm);
    strftime(tmp, sizeof(tmp), "%a, %d %b %Y %H:%M:%S %z", &tm);
    buf_addstr(out, tmp);
}

/* The header rewrite of one message. */
struct maildrop_hdr {
    struct queue_file *qf;
    const struct masq *mq;
    struct buf hdr;
    int have_hdr;
    int seen_from, seen_date, seen_msgid;
    struct buf tmp;
};

/* maildrop_put - one content line into the new queue file */
static void maildrop_put(struct queue_file *qf, const char *text, size_t len)
{
    queue_write(qf, text, len);
    queue_write(qf, "\n", 1);
}

/* maildrop_name_is - the header's name is name */
static int maildrop_name_is(const char *h, size_t len, const char *name)
{
    size_t n = strlen(name);

    if (len <= n || strncasecmp(h, name, n) != 0)
        return 0;
    while (n < len && (h[n] == ' ' || h[n] == '\t'))
        n++;
    return n < len && h[n] == ':';
}

/* maildrop_flush_header - one logical header: dropped, completed, or as it was */
static void maildrop_flush_header(struct maildrop_hdr *h)
{
    const char *p = h->hdr.data;
    size_t len = h->hdr.len;

    if (!h->have_hdr)
        return;
    h->have_hdr = 0;
    if (maildrop_name_is(p, len, "Bcc") || maildrop_name_is(p, len, "Resent-Bcc"))
        return;
    if (maildrop_name_is(p, len, "From"))
        h->seen_from = 1;
    else if (maildrop_name_is(p, len, "Date"))
        h->seen_date = 1;
    else if (maildrop_name_is(p, len, "Message-Id"))
        h->seen_msgid = 1;
    if (masq_header(h->mq, 1, p, len, &h->tmp)) {
        p = h->tmp.data;
        len = h->tmp.len;
    }
    /* The logical header's lines, as they were folded. */
    while (len > 0) {
        const char *nl = memchr(p, '\n', len);
        size_t n = nl ? (size_t) (nl - p) : len;

        maildrop_put(h->qf, p, n);
        if (nl == NULL)
            break;
        len -= n + 1;
        p = nl + 1;
    }
}

/* maildrop_from_header - "From: Full Name <sender>" (the name quoted when it must be) */
static void maildrop_from_header(struct buf *out, const char *full_name, const char *sender)
{
    const char *p;
    int quote = 0;

    buf_addstr(out, "From: ");
    if (full_name && *full_name) {
        for (p = full_name; *p; p++)
            if (strchr("()<>[]:;@\\,.\"", *p))
                quote = 1;
        if (quote) {
            buf_addch(out, '"');
            for (p = full_name; *p; p++) {
                if (*p == '"' || *p == '\\')
                    buf_addch(out, '\\');
                buf_addch(out, *p);
            }
            buf_addch(out, '"');
        } else {
            buf_addstr(out, full_name);
        }
        buf_printf(out, " <%s>", sender);
    } else {
        buf_addstr(out, sender);
    }
}

/* maildrop_missing - the headers local mail must have, when it has not */
static void maildrop_missing(struct maildrop_hdr *h, const char *full_name, const char *sender,
                             const char *myhostname, time_t now)
{
    struct buf out = BUF_INIT;

    if (!h->seen_from && *sender) {
        maildrop_from_header(&out, full_name, sender);
        maildrop_put(h->qf, out.data, out.len);
    }
    if (!h->seen_date) {
        buf_reset(&out);
        buf_addstr(&out, "Date: ");
        maildrop_date(&out, now);
        maildrop_put(h->qf, out.data, out.len);
    }
    if (!h->seen_msgid) {
        buf_reset(&out);
        buf_printf(&out, "Message-Id: <%s@%s>", queue_file_id(h->qf), myhostname);
        maildrop_put(h->qf, out.data, out.len);
    }
    buf_free(&out);
}

/*
 * maildrop_convert - copy the maildrop message into qf: Received:, the
 * header completed, the body; 0, or -1 with err when the file is unreadable
 */
static int maildrop_convert(struct queue_file *qf, int fd, const struct queue_msg *md, const struct masq *mq,
                            const char *sender, uid_t uid, const char *myhostname, const char *mail_name,
                            struct buf *err)
{
    struct queue_content *qc = queue_content_open(fd, md->content_start, md->content_end);
    struct maildrop_hdr h;
    struct buf line = BUF_INIT, out = BUF_INIT;
    const char *full_name = queue_msg_attr(md, "full_name");
    time_t now = time(NULL);
    int eol, rc, in_header = 1;

    memset(&h, 0, sizeof(h));
    h.qf = qf;
    h.mq = mq;
    buf_init(&h.hdr);
    buf_init(&h.tmp);
    buf_printf(&out, "Received: by %s (%s, from userid %lu)", myhostname, mail_name, (unsigned long) uid);
    maildrop_put(qf, out.data, out.len);
    buf_reset(&out);
    buf_printf(&out, "\tid %s; ", queue_file_id(qf));
    maildrop_date(&out, now);
    maildrop_put(qf, out.data, out.len);
    while ((rc = queue_content_next(qc, &line, &eol, err)) > 0) {
        if (!in_header) {
            queue_write(qf, line.data, line.len);
            if (eol)
                queue_write(qf, "\n", 1);
            continue;
        }
        if (h.have_hdr && line.len > 0 && (line.data[0] == ' ' || line.data[0] == '\t')) {
            if (h.hdr.len + 1 + line.len <= MAILDROP_HEADER_MAX) {
                buf_addch(&h.hdr, '\n');
                buf_add(&h.hdr, line.data, line.len);
            } else {
                /* Too long to rewrite: what was kept goes out as it is, then the rest. */
                maildrop_put(qf, h.hdr.data, h.hdr.len);
                buf_reset(&h.hdr);
                h.have_hdr = 0;
                maildrop_put(qf, line.data, line.len);
            }
            continue;
        }
        maildrop_flush_header(&h);
        if (header_label_len(line.data, line.len) && line.len <= MAILDROP_HEADER_MAX) {
            buf_set(&h.hdr, line.data, line.len);
            h.have_hdr = 1;
            continue;
        }
        /* The header ends: what is missing, then the empty line. */
        in_header = 0;
        maildrop_missing(&h, full_name, sender, myhostname, now);
        if (line.len > 0)
            queue_write(qf, "\n", 1);
        queue_write(qf, line.data, line.len);
        if (eol)
            queue_write(qf, "\n", 1);
    }
    if (rc == 0 && in_header) {
        /* Nothing but a header (or nothing at all). */
        maildrop_flush_header(&h);
        maildrop_missing(&h, full_name, sender, myhostname, now);
        maildrop_put(qf, "", 0);
    }
    queue_content_close(qc);
    buf_free(&line);
    buf_free(&out);
    buf_free(&h.hdr);
    buf_free(&h.tmp);
    return rc < 0 ? -1 : 0;
}

/* maildrop_take - one maildrop file into the queue; 1 taken, 0 not */
static int maildrop_take(struct config *cfg, const char *queue_dir, const char *root, const char *id,
                         const struct masq *mq, long size_limit)
{
    uid_t uid;
    struct buf path = BUF_INIT, err = BUF_INIT, addr = BUF_INIT;
    struct queue_msg *md = NULL;
    struct queue_file *qf = NULL;
    struct stat st;
    const char *myorigin = mq->myorigin;
    char *myhostname = mem_strdup(config_get(cfg, "myhostname"));
    char *mail_name = mem_strdup(config_get(cfg, "mail_name"));
    const char *v;
    size_t i;
    int fd = -1, taken = 0;

    queue_path(&path, root, QUEUE_INCOMING, id);
    if (maildrop_milter_busy(id))
        goto out; /* with the milters, or waiting to be tried again */
    fd = open(path.data, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        static time_t last_warned;

        if (errno == ELOOP) {
            msg_warn("maildrop %s: a symbolic link, not a submission: removed", id);
            unlink(path.data);
        } else if (errno != ENOENT && time(NULL) - last_warned >= 60) {
            /* Never removed: it is someone's mail, waiting for a pickup that can read it. */
            last_warned = time(NULL);
            msg_warn("maildrop %s: open: %s (left where it is; see mta-sendmail(8))", id, strerror(errno));
        }
        goto out;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        /* A link to someone else's file is not a submission. */
        msg_warn("maildrop %s: not a regular file with one link: removed", id);
        unlink(path.data);
        goto out;
    }
    if (queue_read_fd(fd, path.data, &md, &err) < 0) {
        maildrop_corrupt(queue_dir, path.data, id, err.data);
        goto out;
    }
    if (size_limit > 0 && md->size > (size_t) size_limit) {
        maildrop_corrupt(queue_dir, path.data, id, "larger than message_size_limit");
        goto out;
    }
    if (md->nrcpt == 0 || md->nrcpt > MAILDROP_RCPT_MAX || !maildrop_valid_addr(md->sender, 1)) {
        maildrop_corrupt(queue_dir, path.data, id, "no recipients, too many, or a bad sender");
        goto out;
    }
    for (i = 0; i < md->nrcpt; i++) {
        if (!maildrop_valid_addr(md->rcpts[i].address, 0)) {
            maildrop_corrupt(queue_dir, path.data, id, "bad recipient address");
            goto out;
        }
    }
    /* The submitter is the file's owner: the kernel's word, not the file's. */
    uid = st.st_uid;
    if ((qf = queue_create(queue_dir, &err)) == NULL) {
        msg_warn("maildrop %s: %s: will try again", id, err.data);
        goto out;
    }
    masq_complete(myorigin, md->sender, &addr);
    queue_set_sender(qf, addr.data);
    queue_add_attr(qf, "protocol", "local");
    buf_reset(&err);
    buf_printf(&err, "%lu", (unsigned long) uid);
    queue_add_attr(qf, "uid", err.data);
    buf_reset(&err);
    if ((v = queue_msg_param(md, "BODY")) && (strcasecmp(v, "7BIT") == 0 || strcasecmp(v, "8BITMIME") == 0))
        queue_add_sender_param(qf, "BODY", v);
    if ((v = queue_msg_param(md, "RET")) && (strcasecmp(v, "FULL") == 0 || strcasecmp(v, "HDRS") == 0))
        queue_add_sender_param(qf, "RET", v);
    if ((v = queue_msg_param(md, "ENVID")) && strlen(v) <= 100 && maildrop_valid_addr(v, 0))
        queue_add_sender_param(qf, "ENVID", v);
    masq_complete(myorigin, md->sender, &addr);
    if (maildrop_convert(qf, fd, md, mq, addr.data, uid, myhostname, mail_name, &err) < 0) {
        maildrop_corrupt(queue_dir, path.data, id, err.data);
        queue_abort(qf);
        goto out;
    }
    if (maildrop_milter_enabled()) {
        /* non_smtpd_milters decide first; the file stays until they have. */
        struct maildrop_milter_args a;
        char **rcpts = mem_array(md->nrcpt, sizeof(*rcpts));
        int *notify = mem_array(md->nrcpt, sizeof(*notify));
        struct buf one = BUF_INIT;

        for (i = 0; i < md->nrcpt; i++) {
            buf_reset(&one);
            masq_complete(myorigin, md->rcpts[i].address, &one);
            rcpts[i] = mem_strdup(one.data);
            notify[i] = md->rcpts[i].notify & (QUEUE_NOTIFY_NEVER | QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE |
                                               QUEUE_NOTIFY_DELAY);
        }
        msg_info("%s: uid=%lu from=<%s>", queue_file_id(qf), (unsigned long) uid, addr.data);
        a.queue_dir = queue_dir;
        a.maildrop_id = id;
        a.maildrop_path = path.data;
        a.qf = qf;
        a.sender = addr.data;
        a.rcpts = rcpts;
        a.notify = notify;
        a.nrcpt = md->nrcpt;
        maildrop_milter_start(&a);
        for (i = 0; i < md->nrcpt; i++)
            mem_free(rcpts[i]);
        mem_free(rcpts);
        mem_free(notify);
        buf_free(&one);
        goto out;
    }
    for (i = 0; i < md->nrcpt; i++) {
        buf_reset(&err);
        masq_complete(myorigin, md->rcpts[i].address, &err);
        queue_add_rcpt(qf, err.data,
                       md->rcpts[i].notify & (QUEUE_NOTIFY_NEVER | QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE |
                                              QUEUE_NOTIFY_DELAY),
                       "");
    }
    {
        char newid[QUEUE_ID_SIZE];

        snprintf(newid, sizeof(newid), "%s", queue_file_id(qf));
        buf_reset(&err);
        if (queue_commit(qf, &err) < 0) {
            msg_warn("maildrop %s: %s: will try again", id, err.data);
            goto out;
        }
        /* In the queue now; a crash before this unlink only delivers it twice. */
        if (unlink(path.data) < 0)
            msg_warn("maildrop %s: remove: %s", id, strerror(errno));
        msg_info("%s: uid=%lu from=<%s>", newid, (unsigned long) uid, addr.data);
        taken = 1;
    }
out:
    if (fd >= 0)
        close(fd);
    if (md)
        queue_msg_free(md);
    mem_free(myhostname);
    mem_free(mail_name);
    buf_free(&path);
    buf_free(&err);
    buf_free(&addr);
    return taken;
}

/* maildrop_sweep - temporary files abandoned by a submission that died */
static void maildrop_sweep(const char *root)
{
    struct buf path = BUF_INIT;
    struct dirent *de;
    struct stat st;
    time_t now = time(NULL);
    DIR *d;

    buf_printf(&path, "%s/%s", root, QUEUE_INCOMING);
    if ((d = opendir(path.data)) == NULL) {
        buf_free(&path);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, ".tmp-", 5) != 0)
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && now - st.st_mtime > MAILDROP_STALE_SECONDS) {
            msg_info("maildrop: removing abandoned %s", de->d_name);
            unlinkat(dirfd(d), de->d_name, 0);
        }
    }
    closedir(d);
    buf_free(&path);
}

/* maildrop_pickup - see maildrop.h */
size_t maildrop_pickup(struct config *cfg)
{
    char *qd = mem_strdup(config_get(cfg, "queue_directory"));
    struct buf root = BUF_INIT, err = BUF_INIT;
    struct masq mq;
    char **ids = NULL;
    size_t n = 0, i, taken = 0;
    long limit = 0;
    static time_t last_sweep;

    maildrop_root(&root, qd);
    if (queue_scan(root.data, QUEUE_INCOMING, &ids, &n, &err) < 0) {
        msg_warn("maildrop: %s", err.data);
        goto out;
    }
    if (n > 0) {
        /* Completion only: masquerading is for mail on its way out. */
        memset(&mq, 0, sizeof(mq));
        mq.myorigin = mem_strdup(config_get(cfg, "myorigin"));
        if (config_get_int(cfg, "message_size_limit", 0, 0x7fffffffL, &limit, &err) < 0)
            limit = 0;
        for (i = 0; i < n; i++)
            taken += (size_t) maildrop_take(cfg, qd, root.data, ids[i], &mq, limit);
        queue_ids_free(ids, n);
        mem_free(mq.myorigin);
        if (taken)
            qmgr_kick();
    }
    if (time(NULL) - last_sweep > 3600) {
        last_sweep = time(NULL);
        maildrop_sweep(root.data);
    }
out:
    mem_free(qd);
    buf_free(&root);
    buf_free(&err);
    return taken;
}

/* maildrop_tick_cb - once a second */
static void maildrop_tick_cb(evutil_socket_t fd, short what, void *ctx)
{
    (void) fd;
    (void) what;
    (void) ctx;
    maildrop_pickup(maildrop_cfg);
}

/* maildrop_start - see maildrop.h */
void maildrop_start(struct event_base *base, struct config *cfg)
{
    struct buf err = BUF_INIT;
    struct timeval second = {1, 0};

    if (maildrop_init_dirs(config_get(cfg, "queue_directory"), &err) < 0)
        msg_fatal("maildrop: %s", err.data);
    if (maildrop_milter_init(base, cfg, &err) < 0)
        msg_fatal("%s", err.data);
    maildrop_cfg = cfg;
    maildrop_tick = event_new(base, -1, EV_PERSIST, maildrop_tick_cb, NULL);
    if (maildrop_tick == NULL || event_add(maildrop_tick, &second) < 0)
        msg_fatal("maildrop: cannot set up its timer");
    event_active(maildrop_tick, EV_TIMEOUT, 0);
    buf_free(&err);
}

/* maildrop_stop - no more pickups */
void maildrop_stop(void)
{
    if (maildrop_tick)
        event_free(maildrop_tick);
    maildrop_tick = NULL;
    maildrop_milter_stop();
}
