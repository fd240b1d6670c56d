/*
 * qmgr_msg.c - one message in the queue manager's hands: taken into
 * active/, expanded once into delivery targets (recorded in the file
 * before the first delivery), and, when its last delivery is done,
 * removed (every target final) or moved to deferred/ with the time of its
 * next attempt as the file's mtime.
 *
 * Exactly once: a target with a final status in the file is never tried
 * again, and that status is written (and fsynced) as soon as the delivery
 * process reports it, before anything else happens to the message.  Only
 * a crash between a delivery and that write delivers twice.
 *
 * Trust: the file was written by us, but is read with every check, and a
 * file that fails them goes to corrupt/ for a human instead of stopping
 * the queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/alias_expand.h"
#include "mta-core/qmgr_state.h"
#include "mta-core/queue.h"

/* qmgr_msg_open - the file in active/, for appending; -1 when it is not there */
static int qmgr_msg_open(const char *id)
{
    struct buf path = BUF_INIT;
    int fd;

    queue_path(&path, qmgr.conf.queue_dir, QUEUE_ACTIVE, id);
    fd = open(path.data, O_RDWR | O_APPEND | O_CLOEXEC);
    buf_free(&path);
    return fd;
}

/* qmgr_msg_present - is the message still ours (in active/, same file)? */
int qmgr_msg_present(struct qmgr_msg *m)
{
    struct buf path = BUF_INIT;
    struct stat st;
    int rc;

    queue_path(&path, qmgr.conf.queue_dir, QUEUE_ACTIVE, m->id);
    rc = stat(path.data, &st) == 0 && st.st_ino == m->ino;
    buf_free(&path);
    return rc;
}

/* qmgr_msg_link - add to the list of active messages */
static struct qmgr_msg *qmgr_msg_new(const char *id, struct queue_msg *env, ino_t ino, int from_deferred)
{
    struct qmgr_msg *m = mem_zalloc(sizeof(*m));

    snprintf(m->id, sizeof(m->id), "%s", id);
    m->env = env;
    m->ino = ino;
    m->from_deferred = from_deferred;
    gettimeofday(&m->activated, NULL);
    m->next = qmgr.msgs;
    if (qmgr.msgs)
        qmgr.msgs->prev = m;
    qmgr.msgs = m;
    qmgr.nmsgs++;
    return m;
}

/* qmgr_msg_forget - drop a message from memory (its file stays where it is) */
void qmgr_msg_forget(struct qmgr_msg *m)
{
    qmgr_job_drop_msg(m);
    if (m->prev)
        m->prev->next = m->next;
    else
        qmgr.msgs = m->next;
    if (m->next)
        m->next->prev = m->prev;
    qmgr.nmsgs--;
    queue_msg_free(m->env);
    mem_free(m);
}

/* qmgr_corrupt - a file we cannot read goes to corrupt/ */
static void qmgr_corrupt(const char *id, const char *from, const char *why)
{
    struct buf err = BUF_INIT;

    msg_warn("%s: corrupt queue file: %s: moved to %s/", id, why, QUEUE_CORRUPT);
    if (queue_move_nosync(qmgr.conf.queue_dir, id, from, QUEUE_CORRUPT, &err) < 0)
        msg_warn("%s", err.data);
    buf_free(&err);
}

/* qmgr_reread - the message as the file now says */
static struct queue_msg *qmgr_reread(const char *id, int fd, struct buf *err)
{
    struct buf path = BUF_INIT;
    struct queue_msg *env = NULL;

    queue_path(&path, qmgr.conf.queue_dir, QUEUE_ACTIVE, id);
    if (queue_read_fd(fd, path.data, &env, err) < 0)
        env = NULL;
    buf_free(&path);
    return env;
}

/*
 * qmgr_expand - turn the recipients into targets and record them: Y
 * records, K, then a D record for every target that failed during
 * expansion.  0 done; 1 a temporary failure (a W record says why); -1 a
 * write error (err).
 */
static int qmgr_expand(const char *id, int fd, struct queue_msg *env, struct buf *err)
{
    struct alias_list list = {0};
    size_t *parent = NULL;
    struct buf why = BUF_INIT, rec = BUF_INIT;
    size_t i, before;
    int rc = 0;
    time_t now = time(NULL);

    /* A crash in the middle of an earlier expansion: start it again. */
    if (env->ntargets > 0 && ftruncate(fd, env->expand_start) < 0) {
        buf_printf(err, "%s: truncate queue file: %s", id, strerror(errno));
        return -1;
    }
    if (alias_refresh(qmgr.alias, 0, &why) < 0)
        msg_warn("%s (using what was loaded before)", why.data);
    buf_reset(&why);
    for (i = 0; i < env->nrcpt; i++) {
        before = list.n;
        if (alias_expand(qmgr.alias, env->rcpts[i].address, &list, &why) < 0) {
            rc = 1;
            break;
        }
        parent = mem_realloc_array(parent, list.n + 1, sizeof(*parent));
        while (before < list.n)
            parent[before++] = i;
    }
    if (rc == 1) {
        msg_warn("%s: alias expansion: %s", id, why.data);
        buf_printf(&rec, "4.3.0\t%ld\talias database unavailable: %s", (long) now, why.data);
        if (queue_append(fd, 'W', rec.data, rec.len, err) < 0)
            rc = -1;
        goto out;
    }
    /* The targets, the K record and the failures found while expanding:
     * one write, one fsync (a torn write is expanded again next time). */
    buf_reset(&rec);
    for (i = 0; i < list.n; i++) {
        const struct alias_target *t = &list.v[i];

        queue_format_target(&rec, parent[i], t->kind, t->uid, t->gid, t->alias, t->target);
    }
    buf_reset(&why);
    buf_printf(&why, "%zu", list.n);
    queue_format_record(&rec, 'K', why.data, why.len);
    for (i = 0; i < list.n; i++) {
        const struct alias_target *t = &list.v[i];

        if (t->dsn)
            queue_format_status(&rec, i, "bounced", t->dsn, (long) now, t->text);
    }
    if (queue_append_records(fd, &rec, err) < 0)
        rc = -1;
out:
    alias_list_free(&list);
    mem_free(parent);
    buf_free(&why);
    buf_free(&rec);
    return rc;
}

/* qmgr_expired - past its lifetime (only messages that were tried before expire) */
static int qmgr_expired(const struct qmgr_msg *m)
{
    long life = *m->env->sender ? qmgr.conf.max_lifetime : qmgr.conf.bounce_lifetime;

    return m->from_deferred && time(NULL) - m->env->arrival.tv_sec >= life;
}

/* qmgr_expire - every target not done bounces, as Postfix's "expired" */
static void qmgr_expire(struct qmgr_msg *m, int fd)
{
    struct timeval now;
    struct buf err = BUF_INIT, text = BUF_INIT;
    size_t i;

    gettimeofday(&now, NULL);
    for (i = 0; i < m->env->ntargets; i++) {
        struct queue_target *t = &m->env->targets[i];
        char *dsn;

        if (t->status && strcmp(t->status, "deferred") != 0)
            continue;
        dsn = mem_strdup(t->dsn ? t->dsn : m->env->defer_dsn ? m->env->defer_dsn : "4.4.7");
        buf_reset(&text);
        buf_printf(&text, "message expired: %s",
                   t->text ? t->text : m->env->defer_text ? m->env->defer_text : "delivery time expired");
        if (queue_append_status(fd, i, "bounced", dsn, (long) now.tv_sec, text.data, &err) < 0)
            msg_warn("%s: %s", m->id, err.data);
        qmgr_log_status(m, i, "none", &now, &now, "expired, returned to sender", dsn, text.data);
        mem_free(t->status);
        mem_free(t->dsn);
        mem_free(t->text);
        t->status = mem_strdup("bounced");
        t->dsn = dsn;
        t->text = mem_strdup(text.data);
    }
    buf_free(&err);
    buf_free(&text);
}

/* qmgr_msg_activate - take a message from incoming/ or deferred/ and start on it */
void qmgr_msg_activate(const char *id, const char *from)
{
    struct buf err = BUF_INIT;
    struct queue_msg *env;
    struct qmgr_msg *m;
    struct stat st;
    size_t i, jobs = 0;
    int fd, rc;

    if (queue_move_nosync(qmgr.conf.queue_dir, id, from, QUEUE_ACTIVE, &err) < 0) {
        /* Gone meanwhile (mtaq), or a name clash: leave it. */
        if (errno != ENOENT)
            msg_warn("%s", err.data);
        buf_free(&err);
        return;
    }
    fd = qmgr_msg_open(id);
    if (fd < 0 || fstat(fd, &st) < 0) {
        msg_warn("%s: open in %s: %m", id, QUEUE_ACTIVE);
        if (fd >= 0)
            close(fd);
        buf_free(&err);
        return;
    }
    env = qmgr_reread(id, fd, &err);
    if (env == NULL) {
        close(fd);
        qmgr_corrupt(id, QUEUE_ACTIVE, err.data);
        buf_free(&err);
        return;
    }
    msg_info("%s: from=<%s>, size=%zu, nrcpt=%zu (queue active)", id, env->sender, env->size, env->nrcpt);
    m = qmgr_msg_new(id, env, st.st_ino, strcmp(from, QUEUE_DEFERRED) == 0);
    if (!env->expanded) {
        rc = qmgr_expand(id, fd, env, &err);
        if (rc < 0) {
            msg_warn("%s: %s: will try again", id, err.data);
        } else {
            struct queue_msg *again = qmgr_reread(id, fd, &err);

            if (again == NULL) {
                close(fd);
                qmgr_msg_forget(m);
                qmgr_corrupt(id, QUEUE_ACTIVE, err.data);
                buf_free(&err);
                return;
            }
            queue_msg_free(m->env);
            m->env = env = again;
            if (rc == 0) {
                struct timeval now;

                gettimeofday(&now, NULL);
                for (i = 0; i < env->ntargets; i++)
                    if (env->targets[i].status)
                        qmgr_log_status(m, i, strcmp(env->targets[i].kind, "relay") ? "local" : "none", &now, &now,
                                        env->targets[i].status, env->targets[i].dsn, env->targets[i].text);
            }
        }
    }
    if (env->expanded && qmgr_expired(m))
        qmgr_expire(m, fd);
    close(fd);
    if (env->expanded) {
        for (i = 0; i < env->ntargets; i++) {
            const char *s = env->targets[i].status;

            if (s == NULL || strcmp(s, "deferred") == 0) {
                qmgr_job_add(m, i);
                jobs++;
            }
        }
    } else {
        /* Not expanded (a map could not be read): every recipient waits. */
        struct timeval now;

        gettimeofday(&now, NULL);
        for (i = 0; i < env->nrcpt; i++)
            msg_info("%s: to=<%s>, relay=none, delay=%ld, dsn=%s, status=deferred (%s)", id, env->rcpts[i].address,
                     (long) (now.tv_sec - env->arrival.tv_sec), env->defer_dsn ? env->defer_dsn : "4.3.0",
                     env->defer_text ? env->defer_text : "temporary failure");
    }
    buf_free(&err);
    if (jobs == 0)
        qmgr_msg_done_job(m);
}

/* qmgr_backoff - seconds until the next attempt: the message's age, within the backoff limits */
static long qmgr_backoff(const struct qmgr_msg *m)
{
    long age = (long) (time(NULL) - m->env->arrival.tv_sec);

    if (age < qmgr.conf.min_backoff)
        return qmgr.conf.min_backoff;
    if (age > qmgr.conf.max_backoff)
        return qmgr.conf.max_backoff;
    return age;
}

/* qmgr_msg_finish - every delivery done: remove, defer, or let go */
static void qmgr_msg_finish(struct qmgr_msg *m)
{
    struct buf err = BUF_INIT, path = BUF_INIT;
    size_t i, bounced = 0, open_targets = 0;

    if (m->gone || !qmgr_msg_present(m)) {
        const char *where = queue_find(qmgr.conf.queue_dir, m->id);

        msg_info("%s: left the active queue while being delivered (%s)", m->id,
                 where ? where : "deleted");
        qmgr_msg_forget(m);
        return;
    }
    for (i = 0; i < m->env->ntargets; i++) {
        const char *s = m->env->targets[i].status;

        if (s == NULL || strcmp(s, "deferred") == 0)
            open_targets++;
        else if (strcmp(s, "bounced") == 0)
            bounced++;
    }
    if (!m->env->expanded)
        open_targets = 1;
    if (open_targets == 0 && bounced > 0) {
        if (*m->env->sender == 0) {
            msg_info("%s: no non-delivery notification for the null sender", m->id);
        } else if (qmgr.bounce) {
            int fd = qmgr_msg_open(m->id);

            if (fd < 0 || qmgr.bounce(m->env, fd, qmgr.cfg) < 0)
                open_targets = 1; /* the notification must wait: so does the message */
            if (fd >= 0)
                close(fd);
        } else {
            msg_info("%s: sender non-delivery notification not sent: no bounce service", m->id);
        }
    }
    if (open_targets == 0) {
        if (queue_remove_nosync(qmgr.conf.queue_dir, QUEUE_ACTIVE, m->id, &err) < 0)
            msg_warn("%s", err.data);
        else
            msg_info("%s: removed", m->id);
    } else {
        struct timespec times[2];
        long delay = qmgr_backoff(m);

        if (qmgr.delay_warning && *m->env->sender && m->env->expanded) {
            int fd = qmgr_msg_open(m->id);

            if (fd >= 0) {
                qmgr.delay_warning(m->env, fd, qmgr.cfg);
                close(fd);
            }
        }

        queue_path(&path, qmgr.conf.queue_dir, QUEUE_ACTIVE, m->id);
        clock_gettime(CLOCK_REALTIME, &times[0]);
        times[1].tv_sec = times[0].tv_sec + delay;
        times[1].tv_nsec = 0;
        if (utimensat(AT_FDCWD, path.data, times, 0) < 0)
            msg_warn("%s: set the time of the next attempt: %m", m->id);
        if (queue_move_nosync(qmgr.conf.queue_dir, m->id, QUEUE_ACTIVE, QUEUE_DEFERRED, &err) < 0)
            msg_warn("%s", err.data);
        else
            msg_debug("%s: deferred for %ld seconds", m->id, delay);
    }
    buf_free(&err);
    buf_free(&path);
    qmgr_msg_forget(m);
}

/* qmgr_msg_done_job - a job of m ended (or none was needed): finish when it was the last */
void qmgr_msg_done_job(struct qmgr_msg *m)
{
    if (m->pending == 0 && m->running == 0)
        qmgr_msg_finish(m);
}
