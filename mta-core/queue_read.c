/*
 * queue_read.c - reading a committed queue file back: the envelope, the
 * delivery targets and their status, and (queue_content_*) the content.
 *
 * The C record says where the envelope starts, so the content is not read
 * to get there.  After the E record come the records the queue manager and
 * mtaq append; a torn last one (a crash in the middle of an append) is
 * ignored, anything else malformed makes the file corrupt.
 *
 * Trust: the file may be damaged; every index (a target's parent, a
 * status's target) is checked against what was read before it is used.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "mta-core/queue.h"
#include "mta-core/queue_rec.h"

/* queue_field - the next tab-separated field of *p (the last takes the rest) */
static char *queue_field(char **p, int last)
{
    char *start = *p;
    char *tab;

    if (start == NULL)
        return NULL;
    if (last) {
        *p = NULL;
        return start;
    }
    tab = strchr(start, '\t');
    if (tab == NULL) {
        *p = NULL;
        return NULL;
    }
    *tab = 0;
    *p = tab + 1;
    return start;
}

/* queue_number - a whole decimal number, or -1 */
static long long queue_number(const char *s)
{
    char *end;
    long long v;

    if (s == NULL || *s == 0)
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < 0)
        return -1;
    return v;
}

static void queue_pair_add(struct queue_attr **list, size_t *n, const char *data)
{
    const char *eq = strchr(data, '=');

    *list = mem_realloc_array(*list, *n + 1, sizeof(**list));
    if (eq) {
        (*list)[*n].name = mem_strndup(data, (size_t) (eq - data));
        (*list)[*n].value = mem_strdup(eq + 1);
    } else {
        (*list)[*n].name = mem_strdup(data);
        (*list)[*n].value = mem_strdup("");
    }
    (*n)++;
}

/* queue_parse_rcpt - "NOTIFY\tORCPT\taddress" */
static int queue_parse_rcpt(struct queue_msg *msg, char *data)
{
    char *p = data;
    char *notify = queue_field(&p, 0);
    char *orcpt = queue_field(&p, 0);
    char *addr = queue_field(&p, 1);
    long long n = queue_number(notify);
    struct queue_rcpt *r;

    if (addr == NULL || n < 0 || n > 15)
        return -1;
    msg->rcpts = mem_realloc_array(msg->rcpts, msg->nrcpt + 1, sizeof(*msg->rcpts));
    r = &msg->rcpts[msg->nrcpt++];
    r->address = mem_strdup(addr);
    r->orcpt = mem_strdup(orcpt);
    r->notify = (int) n;
    return 0;
}

/* queue_parse_target - "PARENT\tKIND\tUID\tGID\tALIAS\tTARGET" */
static int queue_parse_target(struct queue_msg *msg, char *data)
{
    char *p = data;
    long long parent = queue_number(queue_field(&p, 0));
    char *kind = queue_field(&p, 0);
    long long uid = queue_number(queue_field(&p, 0));
    long long gid = queue_number(queue_field(&p, 0));
    char *alias = queue_field(&p, 0);
    char *target = queue_field(&p, 1);
    struct queue_target *t;

    if (target == NULL || parent < 0 || (size_t) parent >= msg->nrcpt || uid < 0 || gid < 0 ||
        uid > 0xFFFFFFFFLL || gid > 0xFFFFFFFFLL)
        return -1;
    if (strcmp(kind, "mailbox") && strcmp(kind, "command") && strcmp(kind, "file") &&
        strcmp(kind, "relay"))
        return -1;
    msg->targets = mem_realloc_array(msg->targets, msg->ntargets + 1, sizeof(*msg->targets));
    t = &msg->targets[msg->ntargets++];
    memset(t, 0, sizeof(*t));
    t->parent = (size_t) parent;
    t->kind = mem_strdup(kind);
    t->uid = (uid_t) uid;
    t->gid = (gid_t) gid;
    t->alias = mem_strdup(alias);
    t->target = mem_strdup(target);
    return 0;
}

/* queue_parse_status - "TARGET\tSTATUS\tDSN\tTIME\ttext" */
static int queue_parse_status(struct queue_msg *msg, char *data)
{
    char *p = data;
    long long idx = queue_number(queue_field(&p, 0));
    char *status = queue_field(&p, 0);
    char *dsn = queue_field(&p, 0);
    long long when = queue_number(queue_field(&p, 0));
    char *text = queue_field(&p, 1);
    struct queue_target *t;

    if (text == NULL || idx < 0 || (size_t) idx >= msg->ntargets || when < 0)
        return -1;
    if (strcmp(status, "sent") && strcmp(status, "bounced") && strcmp(status, "deferred"))
        return -1;
    t = &msg->targets[idx];
    /* A final status stays final. */
    if (t->status && strcmp(t->status, "deferred") != 0)
        return 0;
    mem_free(t->status);
    mem_free(t->dsn);
    mem_free(t->text);
    t->status = mem_strdup(status);
    t->dsn = mem_strdup(dsn);
    t->text = mem_strdup(text);
    t->when = (long) when;
    return 0;
}

/* queue_parse_defer - "DSN\tTIME\ttext": why the whole message waits */
static int queue_parse_defer(struct queue_msg *msg, char *data)
{
    char *p = data;
    char *dsn = queue_field(&p, 0);
    long long when = queue_number(queue_field(&p, 0));
    char *text = queue_field(&p, 1);

    if (text == NULL || when < 0)
        return -1;
    mem_free(msg->defer_dsn);
    mem_free(msg->defer_text);
    msg->defer_dsn = mem_strdup(dsn);
    msg->defer_text = mem_strdup(text);
    msg->defer_when = (long) when;
    return 0;
}

/* queue_parse_header - V, C, T, M: the fixed start of every file */
static int queue_parse_header(struct queue_rd *rd, struct queue_msg *msg, off_t *env_off,
                              struct buf *data, struct buf *err)
{
    static const char want[] = "VCTM";
    long long off;
    size_t size, nrcpt;
    int type;
    int i;

    for (i = 0; i < 4; i++) {
        if (queue_rec_get(rd, &type, data, err) <= 0) {
            if (err->len == 0)
                buf_addstr(err, "empty or truncated file");
            return -1;
        }
        if (type != want[i]) {
            buf_printf(err, "record %c where %c was expected", type, want[i]);
            return -1;
        }
        switch (type) {
        case 'V':
            if (strcmp(data->data, QUEUE_VERSION) != 0) {
                buf_printf(err, "unsupported queue file version \"%s\"", data->data);
                return -1;
            }
            break;
        case 'C':
            if (data->len != QUEUE_C_LEN || sscanf(data->data, "%lld %zu %zu", &off, &size, &nrcpt) != 3) {
                buf_addstr(err, "malformed C record");
                return -1;
            }
            if (off == 0) {
                buf_addstr(err, "message was never committed");
                return -1;
            }
            *env_off = (off_t) off;
            msg->size = size;
            break;
        case 'T': {
            char *end;
            long long sec = strtoll(data->data, &end, 10);
            long usec = *end == '.' ? strtol(end + 1, &end, 10) : 0;

            if (*end || sec < 0 || usec < 0 || usec > 999999) {
                buf_addstr(err, "malformed arrival time");
                return -1;
            }
            msg->arrival.tv_sec = (time_t) sec;
            msg->arrival.tv_usec = usec;
            break;
        }
        case 'M':
            msg->content_start = rd->pos;
            break;
        }
    }
    return 0;
}

/* queue_parse_envelope - from the X record to E */
static int queue_parse_envelope(struct queue_rd *rd, struct queue_msg *msg, struct buf *data,
                                struct buf *err)
{
    int type;
    int rc;

    if (queue_rec_get(rd, &type, data, err) <= 0 || type != 'X') {
        if (err->len == 0)
            buf_addstr(err, "the content does not end where the C record says");
        return -1;
    }
    for (;;) {
        rc = queue_rec_get(rd, &type, data, err);
        if (rc <= 0) {
            if (rc == 0)
                buf_addstr(err, "no E record: the envelope is incomplete");
            return -1;
        }
        switch (type) {
        case 'A':
            queue_pair_add(&msg->attrs, &msg->nattrs, data->data);
            break;
        case 'S':
            mem_free(msg->sender);
            msg->sender = mem_strdup(data->data);
            break;
        case 'P':
            queue_pair_add(&msg->params, &msg->nparams, data->data);
            break;
        case 'R':
            if (queue_parse_rcpt(msg, data->data) < 0) {
                buf_printf(err, "malformed recipient record \"%.60s\"", data->data);
                return -1;
            }
            break;
        case 'H':
            mem_free(msg->hold_reason);
            msg->hold_reason = mem_strdup(data->data);
            break;
        case 'E':
            return 0;
        default:
            buf_printf(err, "unexpected record type %c in the envelope", type);
            return -1;
        }
    }
}

/* queue_parse_trailer - what was appended after E */
static int queue_parse_trailer(struct queue_rd *rd, struct queue_msg *msg, struct buf *data,
                               struct buf *err)
{
    int type;
    int rc;

    msg->expand_start = rd->pos;
    for (;;) {
        off_t at = rd->pos;

        rc = queue_rec_get(rd, &type, data, err);
        if (rc == 0)
            break;
        if (rc < 0) {
            if (rd->torn) {
                /* A crash while appending: that record never happened. */
                buf_reset(err);
                break;
            }
            return -1;
        }
        switch (type) {
        case 'Y':
            if (msg->expanded) {
                buf_printf(err, "offset %lld: target after the expansion was closed", (long long) at);
                return -1;
            }
            if (msg->ntargets == 0)
                msg->expand_start = at;
            if (queue_parse_target(msg, data->data) < 0) {
                buf_printf(err, "offset %lld: malformed target record", (long long) at);
                return -1;
            }
            break;
        case 'K':
            if (msg->expanded || queue_number(data->data) != (long long) msg->ntargets) {
                buf_printf(err, "offset %lld: K record does not match the targets", (long long) at);
                return -1;
            }
            msg->expanded = 1;
            break;
        case 'D':
            if (!msg->expanded || queue_parse_status(msg, data->data) < 0) {
                buf_printf(err, "offset %lld: malformed status record", (long long) at);
                return -1;
            }
            break;
        case 'H':
            mem_free(msg->hold_reason);
            msg->hold_reason = mem_strdup(data->data);
            if (msg->ntargets == 0)
                msg->expand_start = rd->pos;
            break;
        case 'G':
            /* A delay warning went to the sender (bounce_dsn.c). */
            if ((msg->warned = (long) queue_number(data->data)) < 0) {
                buf_printf(err, "offset %lld: malformed G record", (long long) at);
                return -1;
            }
            if (msg->ntargets == 0)
                msg->expand_start = rd->pos;
            break;
        case 'W':
            if (queue_parse_defer(msg, data->data) < 0) {
                buf_printf(err, "offset %lld: malformed W record", (long long) at);
                return -1;
            }
            if (msg->ntargets == 0)
                msg->expand_start = rd->pos;
            break;
        default:
            buf_printf(err, "offset %lld: unexpected record type %c after the end",
                       (long long) at, type);
            return -1;
        }
    }
    msg->file_size = rd->pos;
    return 0;
}

/* queue_read_fd - read the queue file open on fd; path is for messages */
int queue_read_fd(int fd, const char *path, struct queue_msg **msgp, struct buf *err)
{
    struct queue_msg *msg = mem_zalloc(sizeof(*msg));
    struct buf data = BUF_INIT;
    struct queue_rd rd;
    const char *base = strrchr(path, '/');
    off_t env_off = 0;
    int rc = -1;

    base = base ? base + 1 : path;
    snprintf(msg->id, sizeof(msg->id), "%s", base);
    msg->path = mem_strdup(path);
    msg->sender = mem_strdup("");
    queue_rd_init(&rd, fd, 0, -1);
    if (queue_parse_header(&rd, msg, &env_off, &data, err) == 0 && env_off >= msg->content_start) {
        msg->content_end = env_off;
        rd.pos = env_off;
        buf_reset(&rd.buf);
        rd.used = 0;
        if (queue_parse_envelope(&rd, msg, &data, err) == 0 &&
            queue_parse_trailer(&rd, msg, &data, err) == 0)
            rc = 0;
    } else if (err->len == 0) {
        buf_addstr(err, "C record points before the content");
    }
    queue_rd_free(&rd);
    buf_free(&data);
    if (rc < 0) {
        queue_msg_free(msg);
        *msgp = NULL;
        return -1;
    }
    *msgp = msg;
    return 0;
}

/* queue_read - open and read one queue file; -1 with err ("path: why") */
int queue_read(const char *path, struct queue_msg **msgp, struct buf *err)
{
    struct buf why = BUF_INIT;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc;

    if (fd < 0) {
        buf_printf(err, "open %s: %s", path, strerror(errno));
        *msgp = NULL;
        return -1;
    }
    rc = queue_read_fd(fd, path, msgp, &why);
    if (rc < 0)
        buf_printf(err, "%s: %s", path, why.data);
    buf_free(&why);
    close(fd);
    return rc;
}

/* queue_msg_free - release what queue_read() returned */
void queue_msg_free(struct queue_msg *msg)
{
    size_t i;

    if (msg == NULL)
        return;
    for (i = 0; i < msg->nparams; i++) {
        mem_free(msg->params[i].name);
        mem_free(msg->params[i].value);
    }
    for (i = 0; i < msg->nattrs; i++) {
        mem_free(msg->attrs[i].name);
        mem_free(msg->attrs[i].value);
    }
    for (i = 0; i < msg->nrcpt; i++) {
        mem_free(msg->rcpts[i].address);
        mem_free(msg->rcpts[i].orcpt);
    }
    for (i = 0; i < msg->ntargets; i++) {
        struct queue_target *t = &msg->targets[i];

        mem_free(t->kind);
        mem_free(t->alias);
        mem_free(t->target);
        mem_free(t->status);
        mem_free(t->dsn);
        mem_free(t->text);
    }
    mem_free(msg->params);
    mem_free(msg->attrs);
    mem_free(msg->rcpts);
    mem_free(msg->targets);
    mem_free(msg->sender);
    mem_free(msg->hold_reason);
    mem_free(msg->defer_dsn);
    mem_free(msg->defer_text);
    mem_free(msg->path);
    mem_free(msg);
}

/* queue_msg_attr - an attribute's value, or NULL */
const char *queue_msg_attr(const struct queue_msg *msg, const char *name)
{
    size_t i;

    for (i = msg->nattrs; i-- > 0;)
        if (strcmp(msg->attrs[i].name, name) == 0)
            return msg->attrs[i].value;
    return NULL;
}

/* queue_msg_param - a MAIL FROM parameter's value (case-insensitive name), or NULL */
const char *queue_msg_param(const struct queue_msg *msg, const char *name)
{
    size_t i;

    for (i = msg->nparams; i-- > 0;)
        if (strcasecmp(msg->params[i].name, name) == 0)
            return msg->params[i].value;
    return NULL;
}

struct queue_content {
    struct queue_rd rd;
    struct buf data;
};

/* queue_content_open - walk the content records in [start, end) of fd */
struct queue_content *queue_content_open(int fd, off_t start, off_t end)
{
    struct queue_content *qc = mem_zalloc(sizeof(*qc));

    queue_rd_init(&qc->rd, fd, start, end);
    buf_init(&qc->data);
    return qc;
}

/*
 * queue_content_next - the next line: 1 with *eol telling whether it was
 * ended by a newline, 0 at the end of the content, -1 on a malformed file.
 */
int queue_content_next(struct queue_content *qc, struct buf *line, int *eol, struct buf *err)
{
    int type;
    int rc;
    int got = 0;

    buf_reset(line);
    for (;;) {
        rc = queue_rec_get(&qc->rd, &type, &qc->data, err);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            if (got) {
                *eol = 0;
                return 1;
            }
            return 0;
        }
        if (type != 'N' && type != 'L') {
            buf_printf(err, "unexpected record type %c in the content", type);
            return -1;
        }
        buf_add(line, qc->data.data, qc->data.len);
        got = 1;
        if (type == 'N') {
            *eol = 1;
            return 1;
        }
    }
}

/* queue_content_close - done walking */
void queue_content_close(struct queue_content *qc)
{
    queue_rd_free(&qc->rd);
    buf_free(&qc->data);
    mem_free(qc);
}
