/*
 * maildrop_milter.c - non_smtpd_milters for mail from the maildrop (see
 * maildrop_milter.h): one job per submission, driven by the milter chain's
 * callbacks through the emulated SMTP events, then commit, bounce, drop
 * or retry later.
 *
 * Trusts: the pickup's checks of the maildrop file; the queue file it
 * converted (written by us); the milter client's checks of the milters.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/maildrop_milter.h"
#include "mta-core/milter_chain.h"
#include "mta-core/queue.h"
#include "mta-core/smtpd_msg.h"

/* Our own headers at the top of the message (the pickup's Received:): milters do not see them. */
#define OUR_HEADERS 1

enum job_stage { JOB_CONNECT, JOB_HELO, JOB_MAIL, JOB_RCPT, JOB_DATA, JOB_EOM };

struct maildrop_job {
    struct maildrop_job *next;
    char *id;                   /* the maildrop file's name */
    char *path;
    char *queue_dir;
    struct queue_file *qf;
    struct smtpd_msg *msg;
    struct milter_chain *mc;
    char **rcpts;               /* as submitted, for their NOTIFY flags */
    int *notify;
    size_t nrcpt;
    enum job_stage stage;
    size_t rcpt_i;
    struct buf arg;
    const char *argv[2];
};

/* A submission the milters asked to try again later. */
struct maildrop_retry {
    struct maildrop_retry *next;
    char *id;
    time_t when;
};

static struct {
    struct event_base *base;
    struct milter_conf *conf;
    struct maildrop_job *jobs;
    struct maildrop_retry *retries;
} mm;

/* maildrop_milter_init - see maildrop_milter.h */
int maildrop_milter_init(struct event_base *base, struct config *cfg, struct buf *err)
{
    mm.base = base;
    return maildrop_milter_reload(cfg, err);
}

/* maildrop_milter_reload - see maildrop_milter.h */
int maildrop_milter_reload(struct config *cfg, struct buf *err)
{
    struct milter_conf *conf = milter_conf_new_list(cfg, "non_smtpd_milters", err);

    if (conf == NULL)
        return -1;
    milter_conf_unref(mm.conf);
    mm.conf = conf;
    return 0;
}

/* maildrop_milter_enabled - non_smtpd_milters names a milter */
int maildrop_milter_enabled(void)
{
    return mm.conf != NULL && mm.conf->n > 0;
}

/* maildrop_milter_busy - with the milters now, or waiting for its retry time */
int maildrop_milter_busy(const char *maildrop_id)
{
    struct maildrop_job *j;
    struct maildrop_retry **rp, *r;
    time_t now = time(NULL);

    for (j = mm.jobs; j; j = j->next)
        if (strcmp(j->id, maildrop_id) == 0)
            return 1;
    for (rp = &mm.retries; (r = *rp) != NULL;) {
        if (r->when <= now) {
            /* Its time has come (or gone): forget it. */
            *rp = r->next;
            mem_free(r->id);
            mem_free(r);
            continue;
        }
        if (strcmp(r->id, maildrop_id) == 0)
            return 1;
        rp = &r->next;
    }
    return 0;
}

/* job_free - unlink and release a job (its queue file is already dealt with) */
static void job_free(struct maildrop_job *job)
{
    struct maildrop_job **jp;
    size_t i;

    for (jp = &mm.jobs; *jp; jp = &(*jp)->next) {
        if (*jp == job) {
            *jp = job->next;
            break;
        }
    }
    if (job->mc)
        milter_chain_free(job->mc);
    if (job->qf)
        queue_abort(job->qf);
    smtpd_msg_free(job->msg);
    for (i = 0; i < job->nrcpt; i++)
        mem_free(job->rcpts[i]);
    mem_free(job->rcpts);
    mem_free(job->notify);
    mem_free(job->id);
    mem_free(job->path);
    mem_free(job->queue_dir);
    buf_free(&job->arg);
    mem_free(job);
}

/* job_qid - the queue id, for log lines */
static const char *job_qid(const struct maildrop_job *job)
{
    return job->msg->queue_id;
}

/* job_remove_file - the submission is dealt with: out of the maildrop */
static void job_remove_file(struct maildrop_job *job)
{
    if (unlink(job->path) < 0 && errno != ENOENT)
        msg_warn("maildrop %s: remove: %s", job->id, strerror(errno));
}

/* job_retry - nothing queued; the file stays and is tried again later */
static void job_retry(struct maildrop_job *job, const char *why)
{
    struct maildrop_retry *r = mem_zalloc(sizeof(*r));

    r->id = mem_strdup(job->id);
    r->when = time(NULL) + MAILDROP_MILTER_RETRY;
    r->next = mm.retries;
    mm.retries = r;
    msg_info("%s: maildrop %s left in the maildrop: %s; next attempt in %ds", job_qid(job), job->id,
             why, MAILDROP_MILTER_RETRY);
    job_free(job);
}

/* job_out - smtpd_msg_write's writer into the queue file */
static int job_out(void *ctx, const char *data, size_t len, struct buf *err)
{
    (void) err;
    return queue_write(ctx, data, len);
}

/* job_envelope - sender and recipients into the queue file, as they are now */
static void job_envelope(struct maildrop_job *job)
{
    size_t i, k;

    queue_set_sender(job->qf, job->msg->sender);
    for (i = 0; i < job->msg->nrcpt; i++) {
        int notify = 0;

        for (k = 0; k < job->nrcpt; k++)
            if (strcmp(job->rcpts[k], job->msg->rcpts[i].addr) == 0)
                notify = job->notify[k];
        queue_add_rcpt(job->qf, job->msg->rcpts[i].addr, notify, "");
    }
}

/* job_commit - into the queue; 0, or -1 (logged; the file stays for a retry) */
static int job_commit(struct maildrop_job *job, char *id)
{
    struct buf err = BUF_INIT;
    struct queue_file *qf = job->qf;

    snprintf(id, QUEUE_ID_SIZE, "%s", queue_file_id(qf));
    job->qf = NULL;
    if (queue_commit(qf, &err) < 0) {
        msg_warn("%s: maildrop %s: %s", id, job->id, err.data);
        buf_free(&err);
        return -1;
    }
    buf_free(&err);
    return 0;
}

/* job_accept - continue or hold: the edited message into the queue */
static void job_accept(struct maildrop_job *job)
{
    char id[QUEUE_ID_SIZE];
    struct buf err = BUF_INIT;

    job_envelope(job);
    if (job->msg->hold_reason)
        queue_set_hold(job->qf, job->msg->hold_reason);
    /* The content as the milters left it (the commit reports a write error). */
    if (queue_content_reset(job->qf) == 0 && smtpd_msg_write(job->msg, job_out, job->qf, &err) < 0)
        msg_warn("%s: %s", job_qid(job), err.data);
    buf_free(&err);
    if (job_commit(job, id) < 0) {
        job_retry(job, "queue file write error");
        return;
    }
    job_remove_file(job);
    qmgr_kick();
    job_free(job);
}

/*
 * job_bounce - a reject: queue the message with every recipient failed
 * with the milter's reply; the queue manager sends the sender a
 * non-delivery notification and removes it, as Postfix's cleanup bounces a
 * rejected local submission.
 */
static void job_bounce(struct maildrop_job *job, const char *reply)
{
    char id[QUEUE_ID_SIZE];
    struct buf path = BUF_INIT, rec = BUF_INIT, err = BUF_INIT, dsn = BUF_INIT, text = BUF_INIT;
    const char *p = strlen(reply) > 4 ? reply + 4 : "";
    size_t i, n;
    time_t now = time(NULL);
    int fd;

    /* "550 5.7.1 text": the status, else 5.7.1, and the first line's text. */
    n = strspn(p, "0123456789.");
    if (n >= 5 && p[0] == '5' && p[1] == '.' && (p[n] == ' ' || p[n] == 0)) {
        buf_add(&dsn, p, n);
        p += n + (p[n] == ' ');
    } else {
        buf_addstr(&dsn, "5.7.1");
    }
    buf_add(&text, p, strcspn(p, "\r\n"));
    job_envelope(job);
    n = job->msg->nrcpt;
    if (job_commit(job, id) < 0) {
        job_retry(job, "queue file write error");
        goto out;
    }
    /* Same event-loop callback: the queue manager has not looked at it yet. */
    queue_path(&path, job->queue_dir, QUEUE_INCOMING, id);
    for (i = 0; i < n; i++)
        queue_format_target(&rec, i, "relay", 0, 0, job->msg->rcpts[i].addr, job->msg->rcpts[i].addr);
    buf_reset(&err);
    buf_printf(&err, "%zu", n);
    queue_format_record(&rec, 'K', err.data, err.len);
    for (i = 0; i < n; i++)
        queue_format_status(&rec, i, "bounced", dsn.data, (long) now, text.data);
    buf_reset(&err);
    if ((fd = open(path.data, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0
        || queue_append_records(fd, &rec, &err) < 0) {
        /* Left as it is, it would be delivered: out with it, and try the submission again. */
        msg_warn("%s: cannot record the reject: %s", id, err.len ? err.data : strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(path.data);
        job_retry(job, "queue file write error");
        goto out;
    }
    close(fd);
    msg_info("%s: maildrop %s rejected by a milter: the sender is told (%s %s)", id, job->id,
             dsn.data, text.data);
    job_remove_file(job);
    qmgr_kick();
    job_free(job);
out:
    buf_free(&path);
    buf_free(&rec);
    buf_free(&err);
    buf_free(&dsn);
    buf_free(&text);
}

static void job_step(struct maildrop_job *job);

/* job_done - the chain's verdict for the current event */
static void job_done(void *ctx, const struct milter_verdict *v)
{
    struct maildrop_job *job = ctx;

    switch (v->action) {
    case MILTER_REPLY:
        if (job->stage == JOB_RCPT) {
            /* Postfix: a recipient cannot be refused in a local submission. */
            msg_warn("%s: milter configuration error: can't reject recipient in non-smtpd(8) submission",
                     job_qid(job));
            job_retry(job, "4.3.5 Server configuration error");
        } else if (v->reply[0] == '5') {
            job_bounce(job, v->reply);
        } else {
            job_retry(job, v->reply);
        }
        return;
    case MILTER_DISCARD:
        job_remove_file(job);
        job_free(job);
        return;
    case MILTER_HOLD:
        smtpd_msg_hold(job->msg, v->hold_reason);
        break;
    default:
        break;
    }
    if (job->stage == JOB_EOM) {
        job_accept(job);
        return;
    }
    if (job->stage == JOB_RCPT && ++job->rcpt_i < job->msg->nrcpt) {
        job_step(job);
        return;
    }
    job->stage++;
    job_step(job);
}

/* job_addr - "<address>" as a MAIL or RCPT argument vector */
static const char *const *job_addr(struct maildrop_job *job, const char *addr)
{
    buf_reset(&job->arg);
    buf_printf(&job->arg, "<%s>", addr);
    job->argv[0] = job->arg.data;
    job->argv[1] = NULL;
    return job->argv;
}

/* job_step - the next emulated event, as Postfix's cleanup sends them */
static void job_step(struct maildrop_job *job)
{
    switch (job->stage) {
    case JOB_CONNECT:
        milter_chain_connect(job->mc, "localhost", "127.0.0.1", "0", AF_INET, job_done, job);
        break;
    case JOB_HELO:
        milter_chain_helo(job->mc, "localhost", job_done, job);
        break;
    case JOB_MAIL:
        milter_chain_mail(job->mc, job_addr(job, job->msg->sender), job_done, job);
        break;
    case JOB_RCPT:
        milter_chain_rcpt(job->mc, job_addr(job, job->msg->rcpts[job->rcpt_i].addr), job_done, job);
        break;
    case JOB_DATA:
        milter_chain_data(job->mc, job_done, job);
        break;
    case JOB_EOM:
        milter_chain_message(job->mc, job->msg, OUR_HEADERS, job_done, job);
        break;
    }
}

/* header_name_len - the length of "Name" in "Name:value", or 0 */
static size_t header_name_len(const char *line, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) line[i];

        if (c == ':')
            return i;
        if (c <= ' ' || c > 126)
            return 0;
    }
    return 0;
}

/* job_read_message - the converted content of the queue file as a message for the milters */
static int job_read_message(struct maildrop_job *job, struct buf *err)
{
    off_t start, end;
    int fd = queue_content_fd(job->qf, &start, &end);
    struct queue_content *qc;
    struct buf line = BUF_INIT, name = BUF_INIT, value = BUF_INIT;
    int eol, rc, in_header = 1, have = 0;

    if (fd < 0) {
        buf_addstr(err, "queue file write error");
        return -1;
    }
    qc = queue_content_open(fd, start, end);
    while ((rc = queue_content_next(qc, &line, &eol, err)) > 0) {
        size_t n;

        if (in_header) {
            if (have && line.len > 0 && (line.data[0] == ' ' || line.data[0] == '\t')) {
                buf_addch(&value, '\n');
                buf_add(&value, line.data, line.len);
                continue;
            }
            if (have) {
                smtpd_msg_add_header(job->msg, name.data, value.data);
                have = 0;
            }
            if ((n = header_name_len(line.data, line.len)) > 0 && memchr(line.data, 0, line.len) == NULL) {
                buf_set(&name, line.data, n);
                buf_set(&value, line.data + n + 1, line.len - n - 1);
                have = 1;
                continue;
            }
            in_header = 0;
            if (line.len == 0 && eol)
                continue; /* the empty line between header and body */
        }
        if (smtpd_msg_body_append(job->msg, line.data, line.len, err) < 0
            || (eol && smtpd_msg_body_append(job->msg, "\n", 1, err) < 0)) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && have)
        smtpd_msg_add_header(job->msg, name.data, value.data);
    queue_content_close(qc);
    buf_free(&line);
    buf_free(&name);
    buf_free(&value);
    return rc < 0 ? -1 : 0;
}

/* maildrop_milter_start - see maildrop_milter.h */
void maildrop_milter_start(const struct maildrop_milter_args *a)
{
    struct maildrop_job *job = mem_zalloc(sizeof(*job));
    struct buf err = BUF_INIT;
    size_t i;

    job->id = mem_strdup(a->maildrop_id);
    job->path = mem_strdup(a->maildrop_path);
    job->queue_dir = mem_strdup(a->queue_dir);
    job->qf = a->qf;
    buf_init(&job->arg);
    job->msg = smtpd_msg_new(a->queue_dir);
    job->msg->queue_id = mem_strdup(queue_file_id(a->qf));
    smtpd_msg_set_sender(job->msg, a->sender, "");
    job->rcpts = mem_array(a->nrcpt ? a->nrcpt : 1, sizeof(*job->rcpts));
    job->notify = mem_array(a->nrcpt ? a->nrcpt : 1, sizeof(*job->notify));
    for (i = 0; i < a->nrcpt; i++) {
        job->rcpts[i] = mem_strdup(a->rcpts[i]);
        job->notify[i] = a->notify[i];
        smtpd_msg_add_rcpt(job->msg, a->rcpts[i], "");
    }
    job->nrcpt = a->nrcpt;
    job->next = mm.jobs;
    mm.jobs = job;
    if (job_read_message(job, &err) < 0) {
        msg_warn("%s: maildrop %s: %s", job_qid(job), job->id, err.data);
        job_retry(job, "cannot read the converted message");
        buf_free(&err);
        return;
    }
    buf_free(&err);
    job->mc = milter_chain_new(mm.base, mm.conf);
    milter_chain_macro(job->mc, "i", job_qid(job));
    milter_chain_macro(job->mc, "{daemon_addr}", "127.0.0.1");
    milter_chain_macro(job->mc, "{daemon_port}", "0");
    job->stage = JOB_CONNECT;
    job_step(job);
}

/* maildrop_milter_stop - see maildrop_milter.h */
void maildrop_milter_stop(void)
{
    while (mm.jobs)
        job_free(mm.jobs);
    while (mm.retries) {
        struct maildrop_retry *r = mm.retries;

        mm.retries = r->next;
        mem_free(r->id);
        mem_free(r);
    }
    milter_conf_unref(mm.conf);
    mm.conf = NULL;
}
