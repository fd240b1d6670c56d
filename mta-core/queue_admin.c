/*
 * queue_admin.c - the queue operations of mtaq(8).
 *
 * list prints what Postfix's mailq prints (long queue id format: the id,
 * '*' for active and '!' for hold, size, arrival time, sender, then each
 * recipient still to be delivered, after a right-aligned "(reason)" line
 * when its reason differs from the previous recipient's), the hold reason
 * being the reason of every recipient of a held message; --json prints one
 * object per message as postqueue -j does, with "hold_reason" added.
 *
 * release, hold, delete and flush only rename or unlink queue files (hold
 * also appends an H record with its reason, release an empty one), never
 * replacing anything; a message the daemon moves at the same moment is
 * looked up again, a few times.
 *
 * Trust: ids come from the command line and pass queue_id_ok() first;
 * queue files are read with queue_read()'s checks, and what they contain
 * (addresses, reasons, headers) is printed, escaped for JSON.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "mta-core/queue.h"
#include "mta-core/queue_admin.h"

#define QUEUE_ADMIN_RETRIES 5 /* lookups of a message that keeps moving */

/* The order list shows the queues in, with the mark after the id. */
static const struct {
    const char *name;
    const char *mark;
} queue_admin_order[] = {
    {QUEUE_ACTIVE, "*"},
    {QUEUE_INCOMING, ""},
    {QUEUE_DEFERRED, ""},
    {QUEUE_HOLD, "!"},
};

/* queue_admin_reason - why recipient r still waits, "" when nothing is known */
static const char *queue_admin_reason(const struct queue_msg *msg, size_t r, const char *queue, int *pending)
{
    const char *why = NULL;
    size_t i;
    int any = 0, open_targets = 0;

    for (i = 0; i < msg->ntargets; i++) {
        const struct queue_target *t = &msg->targets[i];

        if (t->parent != r)
            continue;
        any = 1;
        if (t->status == NULL || strcmp(t->status, "deferred") == 0) {
            open_targets = 1;
            if (t->text && why == NULL)
                why = t->text;
        }
    }
    *pending = !msg->expanded || !any || open_targets;
    if (why == NULL && msg->defer_text)
        why = msg->defer_text;
    /* On hold, that is why it waits, whatever happened before. */
    if (strcmp(queue, QUEUE_HOLD) == 0 && msg->hold_reason && *msg->hold_reason) {
        static struct buf held = BUF_INIT;

        buf_reset(&held);
        buf_printf(&held, "held: %s", msg->hold_reason);
        why = held.data;
    }
    return why ? why : "";
}

/* queue_admin_printable - copy with control characters made visible */
static void queue_admin_printable(struct buf *out, const char *s)
{
    buf_reset(out);
    for (; *s; s++)
        buf_addch(out, (unsigned char) *s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* queue_admin_json_str - a JSON string */
static void queue_admin_json_str(FILE *out, const char *s)
{
    putc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;

        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\u%04x", c);
        else
            putc(c, out);
    }
    putc('"', out);
}

/* queue_admin_arrival - "Thu Aug 15 10:11:12" */
static void queue_admin_arrival(char *out, size_t size, time_t when)
{
    struct tm tm;
    char buf[64];

    localtime_r(&when, &tm);
    asctime_r(&tm, buf);
    snprintf(out, size, "%.19s", buf);
}

/* queue_admin_list_one - one message, mailq or JSON style; its size */
static size_t queue_admin_list_one(const struct queue_msg *msg, const char *queue, const char *mark, int json,
                                   int first, FILE *out)
{
    struct buf a = BUF_INIT, idm = BUF_INIT;
    const char *last = "";
    char when[32];
    size_t r;
    int pending, nshown = 0;

    if (json) {
        fprintf(out, "{\"queue_name\": ");
        queue_admin_json_str(out, queue);
        fprintf(out, ", \"queue_id\": ");
        queue_admin_json_str(out, msg->id);
        fprintf(out, ", \"arrival_time\": %lld, \"message_size\": %zu, \"forced_expire\": false, \"sender\": ",
                (long long) msg->arrival.tv_sec, msg->size);
        queue_admin_json_str(out, msg->sender);
        if (strcmp(queue, QUEUE_HOLD) == 0) {
            fprintf(out, ", \"hold_reason\": ");
            queue_admin_json_str(out, msg->hold_reason ? msg->hold_reason : "");
        }
        fprintf(out, ", \"recipients\": [");
        for (r = 0; r < msg->nrcpt; r++) {
            const char *why = queue_admin_reason(msg, r, queue, &pending);

            if (!pending)
                continue;
            fprintf(out, "%s{\"address\": ", nshown++ ? ", " : "");
            queue_admin_json_str(out, msg->rcpts[r].address);
            if (*why) {
                fprintf(out, ", \"delay_reason\": ");
                queue_admin_json_str(out, why);
            }
            putc('}', out);
        }
        fprintf(out, "]}\n");
        return msg->size;
    }
    if (first)
        fprintf(out, "%-17s %8s %-19s %s\n", "----Queue ID-----", "--Size--", "---Arrival Time----",
                "--Sender/Recipient------");
    else
        putc('\n', out);
    buf_printf(&idm, "%s%s", msg->id, mark);
    queue_admin_arrival(when, sizeof(when), msg->arrival.tv_sec);
    queue_admin_printable(&a, *msg->sender ? msg->sender : "MAILER-DAEMON");
    fprintf(out, "%-17s %8zu %19.19s %s\n", idm.data, msg->size, when, a.data);
    for (r = 0; r < msg->nrcpt; r++) {
        const char *why = queue_admin_reason(msg, r, queue, &pending);

        if (!pending)
            continue;
        if (strcmp(last, why) != 0) {
            int pad;

            queue_admin_printable(&a, *why ? why : "reason unavailable");
            pad = 76 - (int) a.len;
            fprintf(out, "%*s(%s)\n", pad > 0 ? pad : 0, "", a.data);
            last = why;
        }
        queue_admin_printable(&a, msg->rcpts[r].address);
        fprintf(out, "%-17s %8s %-19s %s\n", "", "", "", a.data);
    }
    buf_free(&a);
    buf_free(&idm);
    return msg->size;
}

/* queue_admin_list - mtaq list */
int queue_admin_list(const char *queue_dir, int which, int json, FILE *out, struct buf *err)
{
    struct buf path = BUF_INIT;
    size_t q, i, n, count = 0, bytes = 0;
    char **ids;

    for (q = 0; q < sizeof(queue_admin_order) / sizeof(queue_admin_order[0]); q++) {
        const char *queue = queue_admin_order[q].name;

        if ((which == QUEUE_ADMIN_HOLD && strcmp(queue, QUEUE_HOLD) != 0) ||
            (which == QUEUE_ADMIN_DEFERRED && strcmp(queue, QUEUE_DEFERRED) != 0))
            continue;
        if (queue_scan(queue_dir, queue, &ids, &n, err) < 0) {
            buf_free(&path);
            return -1;
        }
        for (i = 0; i < n; i++) {
            struct queue_msg *msg;
            struct buf why = BUF_INIT;

            queue_path(&path, queue_dir, queue, ids[i]);
            if (queue_read(path.data, &msg, &why) < 0) {
                /* Moved or removed meanwhile: the daemon is at work. */
                if (access(path.data, F_OK) == 0 && !json)
                    fprintf(out, "%s%s unreadable: %s\n", count ? "\n" : "", ids[i], why.data);
                buf_free(&why);
                continue;
            }
            bytes += queue_admin_list_one(msg, queue, queue_admin_order[q].mark, json, count == 0, out);
            count++;
            queue_msg_free(msg);
            buf_free(&why);
        }
        queue_ids_free(ids, n);
    }
    if (!json) {
        if (count == 0)
            fprintf(out, "Mail queue is empty\n");
        else
            fprintf(out, "\n-- %zu Kbytes in %zu Request%s.\n", bytes / 1024, count, count == 1 ? "" : "s");
    }
    buf_free(&path);
    if (fflush(out) == EOF || ferror(out)) {
        buf_printf(err, "output write error: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* queue_admin_locate - the queue of a valid id, or -1 with err */
static const char *queue_admin_locate(const char *queue_dir, const char *id, struct buf *err)
{
    const char *queue;

    if (!queue_id_ok(id)) {
        buf_printf(err, "%s: not a valid queue id", id);
        return NULL;
    }
    queue = queue_find(queue_dir, id);
    if (queue == NULL)
        buf_printf(err, "%s: no such message in the queue", id);
    return queue;
}

/* queue_admin_show - mtaq show: envelope, delivery status, header (and body) */
int queue_admin_show(const char *queue_dir, const char *id, int body, FILE *out, struct buf *err)
{
    struct buf path = BUF_INIT, line = BUF_INIT, p = BUF_INIT;
    struct queue_msg *msg = NULL;
    struct queue_content *qc;
    const char *queue;
    char when[32];
    size_t i, r;
    int tries, fd = -1, eol, rc, in_header = 1;

    for (tries = 0; tries < QUEUE_ADMIN_RETRIES; tries++) {
        if ((queue = queue_admin_locate(queue_dir, id, err)) == NULL)
            return -1;
        queue_path(&path, queue_dir, queue, id);
        fd = open(path.data, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            break;
    }
    if (fd < 0) {
        buf_printf(err, "%s: %s", id, strerror(errno));
        buf_free(&path);
        return -1;
    }
    if (queue_read_fd(fd, path.data, &msg, err) < 0) {
        close(fd);
        buf_free(&path);
        return -1;
    }
    queue_admin_arrival(when, sizeof(when), msg->arrival.tv_sec);
    fprintf(out, "Queue-ID: %s\nQueue: %s\nArrival: %s (%lld)\nSize: %zu\n", id, queue, when,
            (long long) msg->arrival.tv_sec, msg->size);
    queue_admin_printable(&p, msg->sender);
    fprintf(out, "Sender: <%s>\n", p.data);
    for (i = 0; i < msg->nparams; i++) {
        queue_admin_printable(&p, msg->params[i].value);
        fprintf(out, "Sender-Parameter: %s%s%s\n", msg->params[i].name, *p.data ? "=" : "", p.data);
    }
    for (i = 0; i < msg->nattrs; i++) {
        queue_admin_printable(&p, msg->attrs[i].value);
        fprintf(out, "Attribute: %s=%s\n", msg->attrs[i].name, p.data);
    }
    if (msg->hold_reason && (*msg->hold_reason || strcmp(queue, QUEUE_HOLD) == 0)) {
        queue_admin_printable(&p, msg->hold_reason);
        fprintf(out, "Hold-Reason: %s\n", p.data);
    }
    if (msg->defer_text) {
        queue_admin_printable(&p, msg->defer_text);
        fprintf(out, "Deferred: %s %s\n", msg->defer_dsn, p.data);
    }
    for (r = 0; r < msg->nrcpt; r++) {
        queue_admin_printable(&p, msg->rcpts[r].address);
        fprintf(out, "Recipient: <%s>", p.data);
        if (*msg->rcpts[r].orcpt)
            fprintf(out, " ORCPT=%s", msg->rcpts[r].orcpt);
        if (msg->rcpts[r].notify) {
            static const char *names[] = {"NEVER", "SUCCESS", "FAILURE", "DELAY"};
            int b, first = 1;

            fprintf(out, " NOTIFY=");
            for (b = 0; b < 4; b++)
                if (msg->rcpts[r].notify & (1 << b)) {
                    fprintf(out, "%s%s", first ? "" : ",", names[b]);
                    first = 0;
                }
        }
        putc('\n', out);
        for (i = 0; i < msg->ntargets; i++) {
            const struct queue_target *t = &msg->targets[i];

            if (t->parent != r)
                continue;
            queue_admin_printable(&p, t->target);
            fprintf(out, "  %s %s%s", t->kind, strcmp(t->kind, "command") == 0 ? "|" : "", p.data);
            if (strcmp(t->kind, "command") == 0 || strcmp(t->kind, "file") == 0)
                fprintf(out, " (uid %ld)", (long) t->uid);
            if (t->status) {
                queue_admin_printable(&p, t->text ? t->text : "");
                fprintf(out, ": %s, dsn=%s (%s)\n", t->status, t->dsn, p.data);
            } else {
                fprintf(out, ": not tried yet\n");
            }
        }
    }
    /* The header (and with --body the body), as stored: LF line ends. */
    putc('\n', out);
    qc = queue_content_open(fd, msg->content_start, msg->content_end);
    while ((rc = queue_content_next(qc, &line, &eol, err)) > 0) {
        if (in_header && line.len == 0) {
            in_header = 0;
            if (!body)
                break;
        }
        fwrite(line.data, 1, line.len, out);
        if (eol)
            putc('\n', out);
    }
    queue_content_close(qc);
    close(fd);
    queue_msg_free(msg);
    buf_free(&path);
    buf_free(&line);
    buf_free(&p);
    if (rc < 0)
        return -1;
    if (fflush(out) == EOF || ferror(out)) {
        buf_printf(err, "output write error: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* queue_admin_note - append a record to a message we just moved (H: hold reason) */
static int queue_admin_note(const char *queue_dir, const char *queue, const char *id, int type, const char *text,
                            struct buf *err)
{
    struct buf path = BUF_INIT;
    int fd, rc;

    queue_path(&path, queue_dir, queue, id);
    fd = open(path.data, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        buf_printf(err, "%s: open %s: %s", id, path.data, strerror(errno));
        buf_free(&path);
        return -1;
    }
    rc = queue_append(fd, type, text, strlen(text), err);
    close(fd);
    buf_free(&path);
    return rc;
}

/* queue_admin_move - move id from wherever it is (one of from[]) to to */
static int queue_admin_move(const char *queue_dir, const char *id, const char *const *from, const char *to,
                            const char *not_there, struct buf *err)
{
    int tries, i;

    for (tries = 0; tries < QUEUE_ADMIN_RETRIES; tries++) {
        const char *queue = queue_admin_locate(queue_dir, id, err);

        if (queue == NULL)
            return -1;
        for (i = 0; from[i] && strcmp(from[i], queue) != 0; i++)
            ;
        if (from[i] == NULL) {
            buf_printf(err, "%s: %s (it is in %s)", id, not_there, queue);
            return -1;
        }
        buf_reset(err);
        if (queue_move(queue_dir, id, queue, to, err) == 0)
            return 0;
        if (errno != ENOENT)
            return -1;
        buf_reset(err); /* moved meanwhile: look again */
    }
    buf_printf(err, "%s: keeps moving; try again", id);
    return -1;
}

/* queue_admin_release - hold -> incoming, where the daemon takes it within a second */
int queue_admin_release(const char *queue_dir, const char *id, struct buf *err)
{
    static const char *const from[] = {QUEUE_HOLD, NULL};
    const char *queue = queue_admin_locate(queue_dir, id, err);

    if (queue == NULL)
        return -1;
    if (strcmp(queue, QUEUE_HOLD) != 0) {
        buf_printf(err, "%s: not on hold (it is in %s)", id, queue);
        return -1;
    }
    /* Nothing else touches a held message: forget its reason, then move it. */
    if (queue_admin_note(queue_dir, QUEUE_HOLD, id, 'H', "", err) < 0)
        return -1;
    return queue_admin_move(queue_dir, id, from, QUEUE_INCOMING, "not on hold", err);
}

/* queue_admin_hold - into hold/ from any other queue, with a reason; 1 when already there */
int queue_admin_hold(const char *queue_dir, const char *id, const char *reason, struct buf *err)
{
    static const char *const from[] = {QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, NULL};
    const char *queue = queue_admin_locate(queue_dir, id, err);

    if (queue == NULL)
        return -1;
    if (strcmp(queue, QUEUE_HOLD) == 0)
        return 1;
    if (queue_admin_move(queue_dir, id, from, QUEUE_HOLD, "cannot be held", err) < 0)
        return -1;
    return queue_admin_note(queue_dir, QUEUE_HOLD, id, 'H', reason, err);
}

/* queue_admin_delete - remove a message from whichever queue holds it */
int queue_admin_delete(const char *queue_dir, const char *id, struct buf *err)
{
    int tries;

    for (tries = 0; tries < QUEUE_ADMIN_RETRIES; tries++) {
        const char *queue = queue_admin_locate(queue_dir, id, err);

        if (queue == NULL)
            return -1;
        buf_reset(err);
        if (queue_remove(queue_dir, queue, id, err) == 0)
            return 0;
        if (errno != ENOENT)
            return -1;
        buf_reset(err);
    }
    buf_printf(err, "%s: keeps moving; try again", id);
    return -1;
}

/* queue_admin_flush - every deferred message back to incoming/ for an attempt now */
int queue_admin_flush(const char *queue_dir, char ***idsp, size_t *countp, struct buf *err)
{
    char **ids, **moved = NULL;
    size_t n, i, k = 0;

    if (queue_scan(queue_dir, QUEUE_DEFERRED, &ids, &n, err) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        struct buf why = BUF_INIT;

        if (queue_move(queue_dir, ids[i], QUEUE_DEFERRED, QUEUE_INCOMING, &why) == 0) {
            moved = mem_realloc_array(moved, k + 1, sizeof(*moved));
            moved[k++] = mem_strdup(ids[i]);
        }
        buf_free(&why);
    }
    queue_ids_free(ids, n);
    *idsp = moved;
    *countp = k;
    return 0;
}
