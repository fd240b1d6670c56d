/*
 * milter_conn.c - the MTA side of the milter protocol for one milter.
 *
 * The connection is a state machine (milter_conn.h names the states).
 * Within a state, c->wait says which event's reply we wait for, c->paused
 * that we wait for the socket to drain before sending more body.  Every
 * libevent callback (connect, read, write, timer, error) ends in one of
 * three ways: keep waiting, report a verdict to the chain (c->busy tells
 * that the chain is waiting for one), or fail: close the socket, log why,
 * and stand for the milter's default action from then on, as Postfix's
 * milter8.c does.
 */
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/milter_conn.h"
#include "mta-core/milter_proto.h"

/* Stop producing body chunks above OUT_HIGH unsent bytes; resume below OUT_LOW. */
#define OUT_HIGH (256 * 1024)
#define OUT_LOW (64 * 1024)

/* The longest quarantine reason we keep (Postfix keeps 100 bytes). */
#define HOLD_REASON_MAX 200

/* Retry a unix-domain connect whose listen queue is full this often. */
#define RETRY_MSEC 20

enum conn_op {
    OP_NONE,    /* idle */
    OP_EVENT,   /* one envelope event: pend_cmd, pend */
    OP_MESSAGE  /* the message content, step by step */
};

enum msg_step {
    STEP_HEADERS, /* next header: hdr_i */
    STEP_EOH,     /* end of headers */
    STEP_BODY,    /* next body chunk: rd */
    STEP_EOB,     /* end of message */
    STEP_FINAL    /* waiting for the final reply */
};

struct milter_conn {
    struct milter_conn_env env;
    const struct milter_spec *spec;
    enum milter_conn_state state;

    /* The socket. */
    int fd;                       /* while connecting */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    time_t deadline;              /* for the connect */
    struct event *conn_ev;        /* connect completion or retry */
    int retrying;                 /* conn_ev is the retry timer */
    struct bufferevent *bev;      /* once connected */
    struct event *timer;          /* reply and drain timeouts */

    /* What the milter negotiated. */
    uint32_t version, actions, events, np_mask;
    char *symlist[MILTER_STAGE_COUNT];

    /* The verdict that stands for every later event (Postfix's def_reply). */
    enum milter_action sticky;
    struct buf sticky_reply, sticky_reason;
    int skip_type;                /* SMFIR_SKIP: skip more events of this type */

    /* The operation in progress. */
    enum conn_op op;
    int busy;                     /* the chain waits for this operation's verdict */
    int wait;                     /* the event whose reply we wait for, 0 if none */
    int paused;                   /* waiting for output to drain */
    int pend_cmd;                 /* OP_EVENT: the event */
    struct buf pend;              /* and its payload */

    /* OP_MESSAGE */
    struct milter_msg_view *view;
    enum msg_step step;
    size_t hdr_i;
    struct milter_msg_body_reader rd;
    struct milter_msg_edits edits;
    int held;
    struct buf hold;

    /* Scratch and the verdict being reported. */
    struct buf out, tmp, tmp2, pkt;
    struct buf v_reply, v_reason;
};

static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);
static void timer_cb(evutil_socket_t fd, short what, void *arg);
static void conn_cb(evutil_socket_t fd, short what, void *arg);
static int message_step(struct milter_conn *c, struct milter_verdict *v);

/* milter_conn_name - the milter's name as configured */
const char *milter_conn_name(const struct milter_conn *c)
{
    return c->spec->name;
}

/* milter_conn_wants_rejected_rcpt - it negotiated SMFIP_RCPT_REJ */
int milter_conn_wants_rejected_rcpt(const struct milter_conn *c)
{
    return (c->events & SMFIP_RCPT_REJ) != 0;
}

static const char *log_id(const struct milter_conn *c)
{
    const char *id = milter_macro_get(c->env.macros, "i");

    return id && *id ? id : "NOQUEUE";
}

/* milter_conn_new - a connection that connects at its first event */
struct milter_conn *milter_conn_new(const struct milter_conn_env *env,
                                    const struct milter_spec *spec)
{
    struct milter_conn *c = mem_zalloc(sizeof(*c));

    c->env = *env;
    c->spec = spec;
    c->state = MILTER_CONN_CLOSED;
    c->fd = -1;
    c->timer = evtimer_new(env->base, timer_cb, c);
    if (c->timer == NULL)
        msg_fatal("milter %s: cannot create a timer", spec->name);
    buf_init(&c->sticky_reply);
    buf_init(&c->sticky_reason);
    buf_init(&c->pend);
    buf_init(&c->hold);
    buf_init(&c->out);
    buf_init(&c->tmp);
    buf_init(&c->tmp2);
    buf_init(&c->pkt);
    buf_init(&c->v_reply);
    buf_init(&c->v_reason);
    milter_msg_edits_init(&c->edits);
    return c;
}

/* conn_close - drop the socket and every pending event */
static void conn_close(struct milter_conn *c)
{
    if (c->conn_ev) {
        event_free(c->conn_ev);
        c->conn_ev = NULL;
    }
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
        c->fd = -1;
    } else if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    evtimer_del(c->timer);
    c->wait = 0;
    c->paused = 0;
}

/* milter_conn_free - say goodbye (SMFIC_QUIT) if we can, and release */
void milter_conn_free(struct milter_conn *c)
{
    size_t i;

    if (c == NULL)
        return;
    if (c->bev && (c->state == MILTER_CONN_READY || c->state == MILTER_CONN_ENVELOPE
                   || c->state == MILTER_CONN_MESSAGE || c->state == MILTER_CONN_ACCEPT_MSG)) {
        static const char quit[5] = { 0, 0, 0, 1, SMFIC_QUIT };
        struct evbuffer *pending = bufferevent_get_output(c->bev);
        int fd = bufferevent_getfd(c->bev);

        /* What is still queued (an ABORT), then QUIT, if the socket takes it now. */
        if (evbuffer_get_length(pending) > 0 && evbuffer_get_length(pending) <= OUT_LOW)
            (void) evbuffer_write(pending, fd);
        if (evbuffer_get_length(pending) == 0)
            (void) send(fd, quit, sizeof(quit), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    conn_close(c);
    event_free(c->timer);
    for (i = 0; i < MILTER_STAGE_COUNT; i++)
        mem_free(c->symlist[i]);
    buf_free(&c->sticky_reply);
    buf_free(&c->sticky_reason);
    buf_free(&c->pend);
    buf_free(&c->hold);
    buf_free(&c->out);
    buf_free(&c->tmp);
    buf_free(&c->tmp2);
    buf_free(&c->pkt);
    buf_free(&c->v_reply);
    buf_free(&c->v_reason);
    milter_msg_edits_clear(&c->edits);
    mem_free(c);
}

/* set_sticky - the verdict that stands for the rest of the session */
static void set_sticky(struct milter_conn *c, enum milter_action a, const char *reply,
                       const char *reason)
{
    c->sticky = a;
    buf_setstr(&c->sticky_reply, reply ? reply : "");
    buf_setstr(&c->sticky_reason, reason ? reason : "");
}

/* verdict - fill in v (strings owned by c until the next verdict) */
static int verdict(struct milter_conn *c, struct milter_verdict *v, enum milter_action a,
                   const char *reply, const char *reason)
{
    if (reply != c->v_reply.data)
        buf_setstr(&c->v_reply, reply ? reply : "");
    if (reason != c->v_reason.data)
        buf_setstr(&c->v_reason, reason ? reason : "");
    v->action = a;
    v->reply = a == MILTER_REPLY ? c->v_reply.data : NULL;
    v->hold_reason = a == MILTER_HOLD ? c->v_reason.data : NULL;
    v->milter = c->spec->name;
    return MILTER_CONN_DONE;
}

/* sticky_verdict - the standing verdict, or continue */
static int sticky_verdict(struct milter_conn *c, struct milter_verdict *v)
{
    return verdict(c, v, c->sticky, c->sticky_reply.data, c->sticky_reason.data);
}

/*
 * conn_fail - the milter failed us: log why, close, and stand for the
 * default action.  conf_error: the milter misbehaved in a way that looks
 * like a configuration problem (Postfix's milter8_conf_error), else a
 * communication problem (milter8_comm_error).  Does not report: callers do.
 */
static void __attribute__((format(printf, 3, 4)))
conn_fail(struct milter_conn *c, int conf_error, const char *fmt, ...)
{
    struct buf why = BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(&why, fmt, ap);
    va_end(ap);
    msg_warn("%s: milter %s: %s; default_action=%s", log_id(c), c->spec->name, why.data,
             milter_conf_action_name(c->spec->default_action));
    buf_free(&why);
    conn_close(c);
    c->state = MILTER_CONN_ERROR;
    switch (c->spec->default_action) {
    case MILTER_DEFAULT_ACCEPT:
        set_sticky(c, MILTER_CONTINUE, NULL, NULL);
        break;
    case MILTER_DEFAULT_QUARANTINE:
        set_sticky(c, MILTER_HOLD, NULL, "default_action");
        break;
    case MILTER_DEFAULT_SHUTDOWN:
        set_sticky(c, MILTER_REPLY, conf_error ? "421 4.3.5 Server configuration problem - "
                   "try again later" : "421 4.7.1 Service unavailable - try again later", NULL);
        break;
    case MILTER_DEFAULT_REJECT:
        set_sticky(c, MILTER_REPLY, conf_error ? "451 4.3.5 Server configuration problem - "
                   "try again later" : "550 5.5.0 Service unavailable", NULL);
        break;
    default:
        set_sticky(c, MILTER_REPLY, conf_error ? "451 4.3.5 Server configuration problem - "
                   "try again later" : "451 4.7.1 Service unavailable - try again later", NULL);
        break;
    }
    if (c->op == OP_MESSAGE) {
        milter_msg_edits_clear(&c->edits);
        c->view = NULL;
    }
    c->op = OP_NONE;
}

/* report - hand the verdict of the operation in progress to the chain */
static void report(struct milter_conn *c, struct milter_verdict *v)
{
    int was_busy = c->busy;

    c->busy = 0;
    c->op = OP_NONE;
    if (was_busy)
        c->env.done(c->env.ctx, c, v);
}

/* report_sticky - after a failure inside a callback */
static void report_sticky(struct milter_conn *c)
{
    struct milter_verdict v;

    sticky_verdict(c, &v);
    report(c, &v);
}

/* arm - (re)start the timer for a wait */
static void arm(struct milter_conn *c, long seconds)
{
    struct timeval tv = { seconds, 0 };

    evtimer_add(c->timer, &tv);
}

static long wait_timeout(const struct milter_conn *c)
{
    return c->state == MILTER_CONN_MESSAGE ? c->spec->content_timeout
                                           : c->spec->command_timeout;
}

/* put - queue the packet in c->out for the milter */
static int put(struct milter_conn *c)
{
    int r = bufferevent_write(c->bev, c->out.data, c->out.len);

    buf_reset(&c->out);
    if (r < 0) {
        conn_fail(c, 0, "cannot queue data for the milter");
        return -1;
    }
    return 0;
}

/* stage_of - the macro stage of an event, -1 if it has none */
static int stage_of(int cmd)
{
    switch (cmd) {
    case SMFIC_CONNECT: return MILTER_STAGE_CONNECT;
    case SMFIC_HELO: return MILTER_STAGE_HELO;
    case SMFIC_MAIL: return MILTER_STAGE_MAIL;
    case SMFIC_RCPT: return MILTER_STAGE_RCPT;
    case SMFIC_DATA: return MILTER_STAGE_DATA;
    case SMFIC_EOH: return MILTER_STAGE_EOH;
    case SMFIC_BODYEOB: return MILTER_STAGE_EOM;
    case SMFIC_UNKNOWN: return MILTER_STAGE_UNKNOWN;
    default: return -1;
    }
}

/* nosend_flag - the SMFIP_NO* flag of an event */
static uint32_t nosend_flag(int cmd)
{
    switch (cmd) {
    case SMFIC_CONNECT: return SMFIP_NOCONNECT;
    case SMFIC_HELO: return SMFIP_NOHELO;
    case SMFIC_MAIL: return SMFIP_NOMAIL;
    case SMFIC_RCPT: return SMFIP_NORCPT;
    case SMFIC_DATA: return SMFIP_NODATA;
    case SMFIC_HEADER: return SMFIP_NOHDRS;
    case SMFIC_EOH: return SMFIP_NOEOH;
    case SMFIC_BODY: return SMFIP_NOBODY;
    case SMFIC_UNKNOWN: return SMFIP_NOUNKNOWN;
    default: return 0;
    }
}

/* noreply_flag - the SMFIP_NR_* flag of an event */
static uint32_t noreply_flag(int cmd)
{
    switch (cmd) {
    case SMFIC_CONNECT: return SMFIP_NR_CONN;
    case SMFIC_HELO: return SMFIP_NR_HELO;
    case SMFIC_MAIL: return SMFIP_NR_MAIL;
    case SMFIC_RCPT: return SMFIP_NR_RCPT;
    case SMFIC_DATA: return SMFIP_NR_DATA;
    case SMFIC_HEADER: return SMFIP_NR_HDR;
    case SMFIC_EOH: return SMFIP_NR_EOH;
    case SMFIC_BODY: return SMFIP_NR_BODY;
    case SMFIC_UNKNOWN: return SMFIP_NR_UNKN;
    default: return 0;
    }
}

enum send_result {
    SEND_FAILED,  /* the connection failed (state ERROR) */
    SEND_SKIPPED, /* not sent: outside its protocol, unwanted, or skipped */
    SEND_NOREPLY, /* sent, no reply will come */
    SEND_WAIT     /* sent, c->wait is set */
};

/*
 * send_event - the stage's macros (even for an event the milter does not
 * want, as Postfix does: it may need them later), then the event.
 */
static enum send_result send_event(struct milter_conn *c, int cmd, const char *data, size_t len)
{
    uint32_t flag = nosend_flag(cmd);
    int stage = stage_of(cmd);
    size_t start;

    if (flag & c->np_mask)
        return SEND_SKIPPED;
    if (c->skip_type) {
        if (cmd == c->skip_type)
            return SEND_SKIPPED;
        c->skip_type = 0;
    }
    if (stage >= 0) {
        const char *names = c->symlist[stage] && *c->symlist[stage]
                                ? c->symlist[stage] : c->env.conf->macros[stage];

        start = milter_proto_start(&c->out, SMFIC_MACRO);
        milter_proto_add_byte(&c->out, cmd);
        if (milter_macro_encode(c->env.macros, &c->env.conf->defaults, names, &c->out) > 0) {
            milter_proto_finish(&c->out, start);
        } else {
            buf_truncate(&c->out, start);
        }
    }
    if ((flag & c->events) == 0) {
        start = milter_proto_start(&c->out, cmd);
        milter_proto_add_bytes(&c->out, data, len);
        milter_proto_finish(&c->out, start);
    }
    if (c->out.len == 0)
        return SEND_SKIPPED;
    if (put(c) < 0)
        return SEND_FAILED;
    if (flag & c->events)
        return SEND_SKIPPED;
    if (noreply_flag(cmd) & c->events)
        return SEND_NOREPLY;
    c->wait = cmd;
    arm(c, wait_timeout(c));
    return SEND_WAIT;
}

/* connected - the socket is up: start the option negotiation */
static void connected(struct milter_conn *c)
{
    size_t start;

    c->bev = bufferevent_socket_new(c->env.base, c->fd,
                                    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (c->bev == NULL)
        msg_fatal("milter %s: cannot create a buffer event", c->spec->name);
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, OUT_LOW, 0);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->state = MILTER_CONN_NEGOTIATING;
    start = milter_proto_start(&c->out, SMFIC_OPTNEG);
    milter_proto_add_u32(&c->out, (uint32_t) c->spec->version);
    milter_proto_add_u32(&c->out, MILTER_ALL_ACTIONS);
    milter_proto_add_u32(&c->out, c->spec->events);
    milter_proto_finish(&c->out, start);
    if (put(c) < 0)
        return;
    c->wait = SMFIC_OPTNEG;
    arm(c, c->spec->command_timeout);
}

/* try_connect - one connect(2); 0 connected or in progress, -1 failed */
static int try_connect(struct milter_conn *c)
{
    struct timeval tv;
    time_t left;

    if (connect(c->fd, (struct sockaddr *) &c->addr, c->addr_len) == 0) {
        connected(c);
        return c->state == MILTER_CONN_ERROR ? -1 : 0;
    }
    left = c->deadline - time(NULL);
    if (errno == EAGAIN && c->addr.ss_family == AF_UNIX && left > 0) {
        /* The milter's listen queue is full: try again shortly. */
        tv.tv_sec = 0;
        tv.tv_usec = RETRY_MSEC * 1000;
        c->conn_ev = evtimer_new(c->env.base, conn_cb, c);
        c->retrying = 1;
    } else if (errno == EINPROGRESS) {
        tv.tv_sec = left > 0 ? left : 1;
        tv.tv_usec = 0;
        c->conn_ev = event_new(c->env.base, c->fd, EV_WRITE, conn_cb, c);
    } else if (errno == EAGAIN && c->addr.ss_family == AF_UNIX) {
        conn_fail(c, 0, "connect to milter service %s: timed out after %lds (listen queue "
                  "full)", c->spec->name, c->spec->connect_timeout);
        return -1;
    } else {
        conn_fail(c, 0, "connect to milter service %s: %s", c->spec->name, strerror(errno));
        return -1;
    }
    if (c->conn_ev == NULL)
        msg_fatal("milter %s: cannot create a connect event", c->spec->name);
    event_add(c->conn_ev, &tv);
    c->state = MILTER_CONN_CONNECTING;
    return 0;
}

/* conn_open - start connecting; 0 on the way, -1 failed (state ERROR) */
static int conn_open(struct milter_conn *c)
{
    const struct milter_spec *sp = c->spec;

    memset(&c->addr, 0, sizeof(c->addr));
    if (sp->path) {
        struct sockaddr_un *sun = (struct sockaddr_un *) &c->addr;

        if (strlen(sp->path) >= sizeof(sun->sun_path)) {
            conn_fail(c, 1, "unix socket path too long: %s", sp->path);
            return -1;
        }
        sun->sun_family = AF_UNIX;
        strcpy(sun->sun_path, sp->path);
        c->addr_len = sizeof(*sun);
    } else {
        struct addrinfo hints, *res = NULL;
        int r;

        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        if ((r = getaddrinfo(sp->host, sp->port, &hints, &res)) != 0 || res == NULL) {
            conn_fail(c, 0, "connect to milter service %s: cannot resolve %s: %s", sp->name,
                      sp->host, gai_strerror(r));
            return -1;
        }
        memcpy(&c->addr, res->ai_addr, res->ai_addrlen);
        c->addr_len = res->ai_addrlen;
        freeaddrinfo(res);
    }
    c->fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        conn_fail(c, 0, "connect to milter service %s: socket: %s", sp->name, strerror(errno));
        return -1;
    }
    c->deadline = time(NULL) + sp->connect_timeout;
    return try_connect(c);
}

/* conn_cb - the connect finished, timed out, or is to be retried */
static void conn_cb(evutil_socket_t fd, short what, void *arg)
{
    struct milter_conn *c = arg;
    int err = 0, retry = c->retrying;
    socklen_t len = sizeof(err);

    (void) fd;
    event_free(c->conn_ev);
    c->conn_ev = NULL;
    c->retrying = 0;
    if (retry) {
        if (try_connect(c) < 0)
            report_sticky(c);
        return;
    }
    if (what & EV_TIMEOUT) {
        conn_fail(c, 0, "connect to milter service %s: timed out after %lds", c->spec->name,
                  c->spec->connect_timeout);
        report_sticky(c);
        return;
    }
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err != 0) {
        conn_fail(c, 0, "connect to milter service %s: %s", c->spec->name, strerror(err));
        report_sticky(c);
        return;
    }
    connected(c);
    if (c->state == MILTER_CONN_ERROR)
        report_sticky(c);
}

/*
 * start_op - go on with the operation in progress once the milter is
 * ready: send the pending envelope event, or the next piece of message.
 */
static int start_op(struct milter_conn *c, struct milter_verdict *v)
{
    if (c->op == OP_MESSAGE)
        return message_step(c, v);
    c->state = MILTER_CONN_ENVELOPE;
    switch (send_event(c, c->pend_cmd, c->pend.data, c->pend.len)) {
    case SEND_WAIT:
        return MILTER_CONN_PENDING;
    default:
        c->op = OP_NONE;
        return sticky_verdict(c, v);
    }
}

/* negotiated - the milter's OPTNEG reply: check it as Postfix does */
static int negotiated(struct milter_conn *c, const struct milter_reply *r)
{
    uint32_t offered = c->spec->events;
    int i;

    if (r->version > (uint32_t) c->spec->version) {
        conn_fail(c, 0, "protocol version %lu conflict with MTA protocol version %d",
                  (unsigned long) r->version, c->spec->version);
        return -1;
    }
    if (r->version < 2) {
        conn_fail(c, 0, "unexpected protocol version %lu", (unsigned long) r->version);
        return -1;
    }
    if ((r->actions & MILTER_ALL_ACTIONS) != r->actions) {
        conn_fail(c, 0, "request mask 0x%lx conflict with MTA request mask 0x%lx",
                  (unsigned long) r->actions, (unsigned long) MILTER_ALL_ACTIONS);
        return -1;
    }
    c->version = r->version;
    c->actions = r->actions;
    /* No-reply and other extensions count only when we offered them. */
    c->events = r->protocol & (MILTER_NOSEND_MASK | offered);
    c->np_mask = MILTER_NOSEND_MASK & ~(offered & milter_proto_version_events((int) c->version));
    for (i = 0; i < MILTER_STAGE_COUNT; i++) {
        mem_free(c->symlist[i]);
        c->symlist[i] = r->symlist[i] ? mem_strdup(r->symlist[i]) : NULL;
    }
    c->state = MILTER_CONN_READY;
    set_sticky(c, MILTER_CONTINUE, NULL, NULL);
    c->skip_type = 0;
    if (msg_verbose)
        msg_info("milter %s: version %lu actions 0x%lx events 0x%lx", c->spec->name,
                 (unsigned long) c->version, (unsigned long) c->actions,
                 (unsigned long) c->events);
    return 0;
}

/* in_connect - a reply to CONNECT or HELO decides for the whole session */
static int in_connect(int event)
{
    return event == SMFIC_CONNECT || event == SMFIC_HELO;
}

/* clean_reason - a quarantine reason fit for a log line and a queue file */
static void clean_reason(struct buf *out, const char *s, size_t len)
{
    size_t i;

    buf_reset(out);
    for (i = 0; i < len && out->len < HOLD_REASON_MAX; i++)
        buf_addch(out, (unsigned char) s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i]);
}

/*
 * finish_message - the milter's last word on the message: apply its edits
 * when it lets the message through, else drop them.
 */
static int finish_message(struct milter_conn *c, enum milter_action a, const char *reply,
                          struct milter_verdict *v)
{
    if (c->edits.error && (a == MILTER_CONTINUE || (a == MILTER_REPLY && reply[0] == '5'))) {
        a = MILTER_REPLY;
        reply = c->edits.error;
    }
    if (a == MILTER_CONTINUE) {
        if (milter_msg_edits_apply(c->view, &c->edits, (c->events & SMFIP_HDR_LEADSPC) != 0,
                                   log_id(c), c->spec->name) < 0) {
            a = MILTER_REPLY;
            reply = "451 4.3.0 Queue file write error";
        } else if (c->held) {
            a = MILTER_HOLD;
        }
    } else {
        milter_msg_edits_clear(&c->edits);
    }
    if (c->state == MILTER_CONN_MESSAGE || c->state == MILTER_CONN_ACCEPT_MSG)
        c->state = MILTER_CONN_ENVELOPE;
    c->view = NULL;
    c->op = OP_NONE;
    return verdict(c, v, a, reply, c->hold.data);
}

/*
 * message_step - send the message content from where we are, until a
 * reply must be awaited, the socket must drain, or the end.
 */
static int message_step(struct milter_conn *c, struct milter_verdict *v)
{
    struct buf err = BUF_INIT;
    enum send_result r;
    int got;

    c->state = MILTER_CONN_MESSAGE;
    for (;;) {
        switch (c->step) {
        case STEP_HEADERS:
            while (c->hdr_i < c->view->msg->nheader && milter_msg_is_ours(c->view, c->hdr_i))
                c->hdr_i++;
            if (c->hdr_i >= c->view->msg->nheader) {
                c->step = STEP_EOH;
                continue;
            }
            milter_msg_header_value(&c->view->msg->headers[c->hdr_i],
                                    (c->events & SMFIP_HDR_LEADSPC) != 0, &c->tmp2);
            buf_setstr(&c->tmp, c->view->msg->headers[c->hdr_i].name);
            c->hdr_i++;
            buf_addch(&c->tmp, 0);
            buf_add(&c->tmp, c->tmp2.data, c->tmp2.len + 1);
            r = send_event(c, SMFIC_HEADER, c->tmp.data, c->tmp.len);
            break;
        case STEP_EOH:
            c->step = STEP_BODY;
            r = send_event(c, SMFIC_EOH, "", 0);
            break;
        case STEP_BODY:
            if ((c->events & SMFIP_NOBODY) || (c->np_mask & SMFIP_NOBODY)
                || c->skip_type == SMFIC_BODY) {
                c->step = STEP_EOB;
                continue;
            }
            if (evbuffer_get_length(bufferevent_get_output(c->bev)) > OUT_HIGH) {
                c->paused = 1;
                arm(c, c->spec->content_timeout);
                return MILTER_CONN_PENDING;
            }
            got = milter_msg_body_chunk(c->view, &c->rd, &c->tmp, &err);
            if (got < 0) {
                msg_warn("%s: milter %s: %s", log_id(c), c->spec->name, err.data);
                buf_free(&err);
                milter_msg_edits_clear(&c->edits);
                return finish_message(c, MILTER_REPLY, "451 4.3.0 Queue file read error", v);
            }
            if (got == 0) {
                c->step = STEP_EOB;
                continue;
            }
            r = send_event(c, SMFIC_BODY, c->tmp.data, c->tmp.len);
            break;
        case STEP_EOB:
            c->step = STEP_FINAL;
            c->skip_type = 0;
            r = send_event(c, SMFIC_BODYEOB, "", 0);
            break;
        default:
            msg_panic("milter %s: message_step in step %d", c->spec->name, c->step);
        }
        if (r == SEND_FAILED) {
            c->op = OP_NONE;
            return sticky_verdict(c, v);
        }
        if (r == SEND_WAIT)
            return MILTER_CONN_PENDING;
    }
}

/* edit_allowed - the milter negotiated the action this edit needs */
static int edit_allowed(const struct milter_conn *c, int cmd)
{
    switch (cmd) {
    case SMFIR_ADDHEADER:
    case SMFIR_INSHEADER:
        return (c->actions & SMFIF_ADDHDRS) != 0;
    case SMFIR_CHGHEADER:
        return (c->actions & SMFIF_CHGHDRS) != 0;
    case SMFIR_ADDRCPT:
        return (c->actions & SMFIF_ADDRCPT) != 0;
    case SMFIR_ADDRCPT_PAR:
        return (c->actions & SMFIF_ADDRCPT_PAR) != 0;
    case SMFIR_DELRCPT:
        return (c->actions & SMFIF_DELRCPT) != 0;
    case SMFIR_CHGFROM:
        return (c->actions & SMFIF_CHGFROM) != 0;
    case SMFIR_REPLBODY:
        return (c->actions & SMFIF_CHGBODY) != 0;
    case SMFIR_QUARANTINE:
        return (c->actions & SMFIF_QUARANTINE) != 0;
    default:
        return 0;
    }
}

/*
 * on_reply - one decoded reply to the event we wait for.  Returns
 * MILTER_CONN_PENDING to keep waiting, or MILTER_CONN_DONE with v filled.
 */
static int on_reply(struct milter_conn *c, const struct milter_reply *r, struct milter_verdict *v)
{
    int event = c->wait;
    int message = (c->op == OP_MESSAGE);
    const char *fixed = NULL;

    switch (r->cmd) {
    case SMFIR_PROGRESS:
        arm(c, wait_timeout(c));
        return MILTER_CONN_PENDING;
    case SMFIR_CONTINUE:
        c->wait = 0;
        evtimer_del(c->timer);
        if (message)
            return event == SMFIC_BODYEOB ? finish_message(c, MILTER_CONTINUE, NULL, v)
                                          : message_step(c, v);
        c->op = OP_NONE;
        return sticky_verdict(c, v);
    case SMFIR_SKIP:
        c->wait = 0;
        evtimer_del(c->timer);
        if (message) {
            if (event == SMFIC_BODYEOB)
                return finish_message(c, MILTER_CONTINUE, NULL, v);
            c->skip_type = event;
            return message_step(c, v);
        }
        c->skip_type = event;
        c->op = OP_NONE;
        return sticky_verdict(c, v);
    case SMFIR_ACCEPT:
        c->wait = 0;
        evtimer_del(c->timer);
        if (in_connect(event)) {
            /* No more events for this SMTP session; libmilter hangs up too. */
            conn_close(c);
            c->state = MILTER_CONN_ACCEPT_CON;
        } else {
            c->state = MILTER_CONN_ACCEPT_MSG;
        }
        if (message)
            return finish_message(c, MILTER_CONTINUE, NULL, v);
        c->op = OP_NONE;
        return sticky_verdict(c, v);
    case SMFIR_DISCARD:
        c->wait = 0;
        evtimer_del(c->timer);
        if (in_connect(event)) {
            msg_warn("%s: milter %s: DISCARD action is not allowed for connect or helo",
                     log_id(c), c->spec->name);
            c->op = OP_NONE;
            return sticky_verdict(c, v);
        }
        if (message)
            return finish_message(c, MILTER_DISCARD, NULL, v);
        c->state = MILTER_CONN_ACCEPT_MSG;
        c->op = OP_NONE;
        return verdict(c, v, MILTER_DISCARD, NULL, NULL);
    case SMFIR_REJECT:
        fixed = "550 5.7.1 Command rejected";
        /* FALLTHROUGH */
    case SMFIR_TEMPFAIL:
        if (fixed == NULL)
            fixed = "451 4.7.1 Service unavailable - try again later";
        /* FALLTHROUGH */
    case SMFIR_SHUTDOWN:
        if (fixed == NULL)
            fixed = "421 4.7.0 Service unavailable";
        /* FALLTHROUGH */
    case SMFIR_REPLYCODE:
        c->wait = 0;
        evtimer_del(c->timer);
        if (fixed == NULL) {
            buf_set(&c->v_reply, r->str1, r->len1);
            milter_proto_unpercent(&c->v_reply);
            fixed = c->v_reply.data;
        }
        if (in_connect(event) || r->cmd == SMFIR_SHUTDOWN) {
            conn_close(c);
            c->state = MILTER_CONN_REJECT_CON;
            set_sticky(c, MILTER_REPLY, fixed, NULL);
        }
        if (message)
            return finish_message(c, MILTER_REPLY, fixed, v);
        c->op = OP_NONE;
        return verdict(c, v, MILTER_REPLY, fixed, NULL);
    default:
        break;
    }

    /* Quarantine and edits come only before the final reply to end of message. */
    if (event != SMFIC_BODYEOB) {
        conn_fail(c, 0, "unexpected filter response %s after event %s",
                  milter_proto_reply_name(r->cmd), milter_proto_cmd_name(event));
        return sticky_verdict(c, v);
    }
    if (!edit_allowed(c, r->cmd)) {
        msg_warn("%s: milter %s: %s without having negotiated it; ignored", log_id(c),
                 c->spec->name, milter_proto_reply_name(r->cmd));
        return MILTER_CONN_PENDING;
    }
    switch (r->cmd) {
    case SMFIR_QUARANTINE:
        c->held = 1;
        clean_reason(&c->hold, r->str1, r->len1);
        if (c->hold.len == 0)
            buf_setstr(&c->hold, "milter triggers HOLD action");
        break;
    case SMFIR_REPLBODY:
        milter_msg_edits_body(&c->edits, c->view, r->str1, r->len1);
        break;
    default:
        milter_msg_edits_add(&c->edits, r->cmd, r->index, r->str1, r->len1, r->str2, r->len2);
        break;
    }
    return MILTER_CONN_PENDING;
}

/* on_packet - one reply packet from the milter */
static int on_packet(struct milter_conn *c, const unsigned char *data, size_t len,
                     struct milter_verdict *v)
{
    struct milter_reply r;
    struct buf err = BUF_INIT;
    int event = c->wait;

    if (event == 0) {
        conn_fail(c, 0, "unexpected %s while no reply was due",
                  milter_proto_reply_name(len ? data[0] : 0));
        return c->busy ? sticky_verdict(c, v) : MILTER_CONN_PENDING;
    }
    if (milter_proto_decode(data, len, &r, &err) < 0) {
        /* A malformed reply code is a configuration problem, as in Postfix. */
        conn_fail(c, r.cmd == SMFIR_REPLYCODE, "%s in reply to %s", err.data,
                  milter_proto_cmd_name(event));
        buf_free(&err);
        return sticky_verdict(c, v);
    }
    if (event == SMFIC_OPTNEG) {
        if (r.cmd != SMFIC_OPTNEG) {
            conn_fail(c, 0, "unexpected reply \"%s\" in initial handshake",
                      milter_proto_reply_name(r.cmd));
            return sticky_verdict(c, v);
        }
        c->wait = 0;
        evtimer_del(c->timer);
        if (negotiated(c, &r) < 0)
            return sticky_verdict(c, v);
        return start_op(c, v);
    }
    if (r.cmd == SMFIC_OPTNEG) {
        conn_fail(c, 0, "unexpected SMFIC_OPTNEG after event %s", milter_proto_cmd_name(event));
        return sticky_verdict(c, v);
    }
    return on_reply(c, &r, v);
}

/* read_cb - bytes from the milter: cut them into packets */
static void read_cb(struct bufferevent *bev, void *arg)
{
    struct milter_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct buf err = BUF_INIT;
    struct milter_verdict v;

    while (c->bev == bev) {
        size_t avail = evbuffer_get_length(in), pkt_len = 0;
        const unsigned char *p;
        int r;

        if (avail < 4)
            break;
        p = evbuffer_pullup(in, avail < 64 ? (ssize_t) avail : 64);
        r = milter_proto_frame(p, avail < 64 ? avail : 64, &pkt_len, &err);
        if (r < 0) {
            conn_fail(c, 0, "%s (waiting for the reply to %s)", err.data,
                      c->wait ? milter_proto_cmd_name(c->wait) : "nothing");
            report_sticky(c);
            break;
        }
        if (avail - 4 < pkt_len)
            break;
        buf_reset(&c->pkt);
        buf_grow(&c->pkt, pkt_len);
        evbuffer_drain(in, 4);
        evbuffer_remove(in, c->pkt.data, pkt_len);
        c->pkt.len = pkt_len;
        if (on_packet(c, (const unsigned char *) c->pkt.data, pkt_len, &v) == MILTER_CONN_DONE)
            report(c, &v);
    }
    buf_free(&err);
}

/* write_cb - the output drained: go on with the body */
static void write_cb(struct bufferevent *bev, void *arg)
{
    struct milter_conn *c = arg;
    struct milter_verdict v;

    (void) bev;
    if (!c->paused)
        return;
    c->paused = 0;
    evtimer_del(c->timer);
    if (message_step(c, &v) == MILTER_CONN_DONE)
        report(c, &v);
}

/* event_cb - the milter hung up, or the socket broke */
static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct milter_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t left = evbuffer_get_length(in);
    int saved = EVUTIL_SOCKET_ERROR();
    struct buf why = BUF_INIT;

    if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) == 0)
        return;
    if (what & BEV_EVENT_EOF)
        buf_addstr(&why, "the milter closed the connection");
    else
        buf_printf(&why, "read/write error: %s", evutil_socket_error_to_string(saved));
    if (c->wait)
        buf_printf(&why, " while waiting for the reply to %s", milter_proto_cmd_name(c->wait));
    else if (c->paused)
        buf_addstr(&why, " while we sent the body");
    if (left > 0) {
        const unsigned char *p = evbuffer_pullup(in, left < 60 ? (ssize_t) left : 60);
        size_t i;

        buf_printf(&why, ", after %zu bytes of an incomplete packet \"", left);
        for (i = 0; i < left && i < 60; i++)
            buf_printf(&why, p[i] >= 0x20 && p[i] < 0x7f ? "%c" : "\\x%02x", p[i]);
        buf_addstr(&why, "\"");
    }
    conn_fail(c, 0, "%s", why.data);
    buf_free(&why);
    report_sticky(c);
}

/* timer_cb - the milter took too long */
static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct milter_conn *c = arg;

    (void) fd;
    (void) what;
    if (c->state == MILTER_CONN_NEGOTIATING)
        conn_fail(c, 0, "timeout in initial handshake after %lds", c->spec->command_timeout);
    else if (c->paused)
        conn_fail(c, 0, "timeout while sending the body after %lds",
                  c->spec->content_timeout);
    else
        conn_fail(c, 0, "timeout while waiting for the reply to %s after %lds",
                  milter_proto_cmd_name(c->wait), wait_timeout(c));
    report_sticky(c);
}

/* begin - start an operation: connect first if need be */
static int begin(struct milter_conn *c, struct milter_verdict *v)
{
    int r;

    if (c->state == MILTER_CONN_CLOSED) {
        if (conn_open(c) < 0) {
            c->op = OP_NONE;
            return sticky_verdict(c, v);
        }
        r = MILTER_CONN_PENDING;
    } else {
        r = start_op(c, v);
    }
    if (r == MILTER_CONN_PENDING)
        c->busy = 1;
    return r;
}

/*
 * milter_conn_event - report an envelope event (CONNECT, HELO, MAIL, RCPT,
 * DATA, UNKNOWN) with its payload.  A milter that decided for the session
 * or the message answers with its standing verdict without being asked.
 */
int milter_conn_event(struct milter_conn *c, int cmd, const struct buf *payload,
                      struct milter_verdict *v)
{
    if (c->busy || c->op != OP_NONE)
        msg_panic("milter %s: event %s while busy", c->spec->name, milter_proto_cmd_name(cmd));
    switch (c->state) {
    case MILTER_CONN_ERROR:
    case MILTER_CONN_ACCEPT_CON:
    case MILTER_CONN_REJECT_CON:
        return sticky_verdict(c, v);
    case MILTER_CONN_ACCEPT_MSG:
        if (cmd != SMFIC_HELO && cmd != SMFIC_MAIL)
            return sticky_verdict(c, v);
        break;
    case MILTER_CONN_CONNECTING:
    case MILTER_CONN_NEGOTIATING:
    case MILTER_CONN_MESSAGE:
        msg_panic("milter %s: event %s in state %d", c->spec->name, milter_proto_cmd_name(cmd),
                  c->state);
    default:
        break;
    }
    c->op = OP_EVENT;
    c->pend_cmd = cmd;
    buf_set(&c->pend, payload->data, payload->len);
    return begin(c, v);
}

/*
 * milter_conn_message - send the message (headers, end of headers, body,
 * end of message) and collect the edits; on the milter's final word, the
 * edits are applied to the message (which must live until the verdict).
 */
int milter_conn_message(struct milter_conn *c, struct milter_msg_view *view,
                        struct milter_verdict *v)
{
    if (c->busy || c->op != OP_NONE)
        msg_panic("milter %s: message while busy", c->spec->name);
    switch (c->state) {
    case MILTER_CONN_ERROR:
    case MILTER_CONN_ACCEPT_CON:
    case MILTER_CONN_REJECT_CON:
        return sticky_verdict(c, v);
    case MILTER_CONN_ACCEPT_MSG:
        c->state = MILTER_CONN_ENVELOPE;
        return sticky_verdict(c, v);
    case MILTER_CONN_ENVELOPE:
    case MILTER_CONN_READY:
    case MILTER_CONN_CLOSED:
        break;
    default:
        msg_panic("milter %s: message in state %d", c->spec->name, c->state);
    }
    c->op = OP_MESSAGE;
    c->view = view;
    c->step = STEP_HEADERS;
    c->hdr_i = 0;
    memset(&c->rd, 0, sizeof(c->rd));
    milter_msg_edits_clear(&c->edits);
    c->held = 0;
    buf_reset(&c->hold);
    return begin(c, v);
}

/*
 * milter_conn_abort - the SMTP transaction ended (RSET, a new MAIL, end of
 * message): SMFIC_ABORT, as Postfix sends it after every transaction.
 */
void milter_conn_abort(struct milter_conn *c)
{
    size_t start;

    if (c->busy)
        msg_panic("milter %s: abort while an operation is in progress", c->spec->name);
    switch (c->state) {
    case MILTER_CONN_ENVELOPE:
    case MILTER_CONN_MESSAGE:
    case MILTER_CONN_ACCEPT_MSG:
        start = milter_proto_start(&c->out, SMFIC_ABORT);
        milter_proto_finish(&c->out, start);
        if (put(c) == 0)
            c->state = MILTER_CONN_ENVELOPE;
        break;
    default:
        break;
    }
}
