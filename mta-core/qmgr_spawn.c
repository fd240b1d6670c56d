/*
 * qmgr_spawn.c - starting delivery processes.
 *
 * The queue manager forks each delivery process itself: unprivileged
 * (tests, home_base hosts), or as root in a queue manager process of its
 * own.  When instead the process that runs the queue manager is about to
 * give up root (qmgr_init() called before the drop), qmgr_init() forks a
 * small helper that stays root and does nothing but fork delivery
 * processes when the queue manager asks: a datagram
 * "ID TARGET[,TARGET...]" with two descriptors (the queue file, and the
 * pipe the results go back on).  Whenever deliveries change identity, the
 * delivery process trusts the queue file no further than it must (the
 * unprivileged SMTP side writes queue files): it never runs anything as
 * root, and checks that a |command or /file target really comes out of the
 * alias maps for its recipient before it runs it, so that a forged queue
 * file cannot have a command of its choice run as someone else.
 *
 * Either way the delivery process reads the message, hands the target (or
 * the targets a batching transport asked for together: relay targets of
 * one next hop) to its transport, writes "status\tdsn\trelay\ttext\n" per
 * target on the pipe, in order, and exits; it dies with its parent
 * (PR_SET_PDEATHSIG), and so does the helper.
 *
 * Trust: requests come from our own daemon over a socketpair; the id is
 * checked with queue_id_ok() and the target index against the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/alias_expand.h"
#include "mta-core/qmgr_spawn.h"
#include "mta-core/qmgr_transport.h"
#include "mta-core/queue.h"

#define QMGR_REQ_MAX 16384       /* bytes in a helper request */
#define QMGR_RESULT_TEXT_MAX 4000 /* bytes of one result's text on the pipe */

static int qmgr_helper_sock = -1;  /* the daemon's end, when there is a helper */
static pid_t qmgr_helper_pid;
static char *qmgr_spawn_queue_dir;
static struct alias_ctx *qmgr_verify_alias; /* the helper checks alias targets with it */

/* qmgr_close_fds - close everything but stdio and the descriptors in keep[] */
static void qmgr_close_fds(const int *keep, int nkeep)
{
    unsigned lo = 3;
    int i;

    for (;;) {
        int next = -1;

        /* The smallest kept descriptor at or above lo. */
        for (i = 0; i < nkeep; i++)
            if (keep[i] >= (int) lo && (next < 0 || keep[i] < next))
                next = keep[i];
        if (next < 0) {
            close_range(lo, ~0U, 0);
            return;
        }
        if ((unsigned) next > lo)
            close_range(lo, (unsigned) next - 1, 0);
        lo = (unsigned) next + 1;
    }
}

/* qmgr_child_signals - a fresh signal state for a child of the daemon */
static void qmgr_child_signals(pid_t parent)
{
    signal(SIGCHLD, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
}

/* qmgr_verify_target - does expanding the recipient again give this target? */
static int qmgr_verify_target(const struct queue_msg *msg, const struct queue_target *t)
{
    struct alias_list list = {0};
    struct buf err = BUF_INIT;
    size_t i;
    int found = 0;

    alias_refresh(qmgr_verify_alias, 0, &err);
    buf_reset(&err);
    if (alias_expand(qmgr_verify_alias, msg->rcpts[t->parent].address, &list, &err) == 0) {
        for (i = 0; i < list.n && !found; i++) {
            const struct alias_target *a = &list.v[i];

            found = a->dsn == NULL && strcmp(a->kind, t->kind) == 0 && strcmp(a->target, t->target) == 0 &&
                    a->uid == t->uid && a->gid == t->gid;
        }
    }
    alias_list_free(&list);
    buf_free(&err);
    return found;
}

/* qmgr_result_set - a result the delivery process makes up itself */
static void qmgr_result_set(struct qmgr_result *res, const char *status, const char *dsn, const char *relay,
                            const char *text)
{
    snprintf(res->status, sizeof(res->status), "%s", status);
    buf_setstr(&res->dsn, dsn);
    buf_setstr(&res->relay, relay);
    buf_setstr(&res->text, text);
}

/* qmgr_child_run - the delivery process: read, deliver, report, exit */
static void __attribute__((noreturn)) qmgr_child_run(const char *id, const size_t *targets, size_t n, int qfd,
                                                     int out)
{
    const struct qmgr_transport *tr = NULL;
    const struct queue_target *t = NULL;
    struct queue_msg *msg = NULL;
    struct qmgr_delivery d;
    struct qmgr_result *res = mem_array(n, sizeof(*res));
    struct buf line = BUF_INIT, path = BUF_INIT, err = BUF_INIT;
    const char *p;
    size_t i, len;
    int bad = 0;

    for (i = 0; i < n; i++) {
        memset(&res[i], 0, sizeof(res[i]));
        buf_init(&res[i].dsn);
        buf_init(&res[i].text);
        buf_init(&res[i].relay);
    }
    queue_path(&path, qmgr_spawn_queue_dir, QUEUE_ACTIVE, id);
    if (queue_read_fd(qfd, path.data, &msg, &err) < 0)
        bad = 1;
    for (i = 0; !bad && i < n; i++)
        if (targets[i] >= msg->ntargets)
            bad = 1;
    if (bad) {
        buf_printf(&line, "cannot read the queue file: %s", err.len ? err.data : "no such target");
        for (i = 0; i < n; i++)
            qmgr_result_set(&res[i], "deferred", "4.3.0", "none", line.data);
        goto report;
    }
    t = &msg->targets[targets[0]];
    tr = qmgr_transport_find(t->kind);
    /* Several targets at once only for a transport that asked for them, all of its kind. */
    for (i = 1; tr && i < n; i++)
        if (tr->batch == NULL || strcmp(msg->targets[targets[i]].kind, t->kind) != 0)
            tr = NULL;
    if (tr == NULL || tr->deliver == NULL) {
        for (i = 0; i < n; i++)
            qmgr_result_set(&res[i], "deferred", "4.3.0", "none", "mail transport unavailable");
    } else if (qmgr_verify_alias && (strcmp(t->kind, "command") == 0 || strcmp(t->kind, "file") == 0) &&
               !qmgr_verify_target(msg, t)) {
        buf_printf(&line, "%s \"%s\" is not (or no longer) in the aliases of %s", t->kind, t->target,
                   msg->rcpts[t->parent].address);
        qmgr_result_set(&res[0], "bounced", "5.3.0", tr->name, line.data);
    } else {
        d.queue_id = id;
        d.fd = qfd;
        d.msg = msg;
        d.target = t;
        d.target_index = targets[0];
        d.targets = targets;
        d.ntargets = n;
        tr->deliver(&d, res);
        for (i = 0; i < n; i++)
            if (res[i].relay.len == 0)
                buf_setstr(&res[i].relay, tr->name);
    }
report:
    buf_reset(&line);
    for (i = 0; i < n; i++) {
        buf_printf(&line, "%s\t%s\t%s\t", res[i].status[0] ? res[i].status : "deferred",
                   res[i].dsn.len ? res[i].dsn.data : "4.3.0", res[i].relay.len ? res[i].relay.data : "none");
        for (p = res[i].text.data, len = 0; *p && len < QMGR_RESULT_TEXT_MAX; p++, len++)
            buf_addch(&line, *p == '\n' || *p == '\t' ? ' ' : *p);
        buf_addch(&line, '\n');
    }
    for (p = line.data, len = line.len; len > 0;) {
        ssize_t w = write(out, p, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(1);
        p += w;
        len -= (size_t) w;
    }
    _exit(0);
}

/* qmgr_fork_child - fork one delivery process; its pid, or -1 */
static pid_t qmgr_fork_child(const char *id, const size_t *targets, size_t n, int qfd, int out)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid == 0) {
        int keep[2] = {qfd, out};

        qmgr_close_fds(keep, 2);
        qmgr_child_signals(parent);
        qmgr_child_run(id, targets, n, qfd, out);
    }
    return pid;
}

/* qmgr_parse_targets - "3,4,7": the indexes (at most QMGR_BATCH_MAX); their count, 0 when malformed */
static size_t qmgr_parse_targets(const char *text, size_t **targets)
{
    size_t n = 0;
    const char *p = text;
    char *end;

    *targets = NULL;
    while (*p) {
        unsigned long v;

        if (*p < '0' || *p > '9' || n >= QMGR_BATCH_MAX)
            break;
        v = strtoul(p, &end, 10);
        *targets = mem_realloc_array(*targets, n + 1, sizeof(**targets));
        (*targets)[n++] = (size_t) v;
        p = end;
        if (*p == ',')
            p++;
        else
            break;
    }
    if (*p != 0 || n == 0) {
        mem_free(*targets);
        *targets = NULL;
        return 0;
    }
    return n;
}

/* qmgr_helper_request - one request: "ID TARGET[,TARGET...]" and two descriptors */
static void qmgr_helper_request(int sock)
{
    char data[QMGR_REQ_MAX + 1];
    char ctl[CMSG_SPACE(2 * sizeof(int))];
    struct iovec iov = {data, QMGR_REQ_MAX};
    struct msghdr mh;
    struct cmsghdr *cm;
    int fds[2] = {-1, -1};
    char id[QUEUE_ID_SIZE];
    size_t *targets = NULL, n = 0;
    char *sp;
    ssize_t got;

    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof(ctl);
    got = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    if (got == 0)
        _exit(0); /* the daemon is gone */
    if (got < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return;
        msg_fatal("delivery helper: recvmsg: %m");
    }
    for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(2 * sizeof(int)))
            memcpy(fds, CMSG_DATA(cm), sizeof(fds));
    data[got] = 0;
    sp = strchr(data, ' ');
    if (sp && (size_t) (sp - data) < sizeof(id)) {
        memcpy(id, data, (size_t) (sp - data));
        id[sp - data] = 0;
        n = qmgr_parse_targets(sp + 1, &targets);
    }
    if (fds[0] < 0 || fds[1] < 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || n == 0 || !queue_id_ok(id)) {
        msg_warn("delivery helper: malformed request ignored");
    } else if (qmgr_fork_child(id, targets, n, fds[0], fds[1]) < 0) {
        msg_warn("delivery helper: fork: %m");
    }
    mem_free(targets);
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
}

/* qmgr_helper_loop - the privileged helper's life */
static void __attribute__((noreturn)) qmgr_helper_loop(int sock, pid_t parent)
{
    int keep[1] = {sock};

    qmgr_close_fds(keep, 1);
    qmgr_child_signals(parent);
    for (;;) {
        struct pollfd p = {sock, POLLIN, 0};

        if (poll(&p, 1, 1000) > 0)
            qmgr_helper_request(sock);
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
    }
}

/*
 * qmgr_spawn_init - set up how deliveries start.  privileged: deliveries
 * change identity, so |command and /file targets are checked against alias
 * (the queue files come from the unprivileged SMTP side); helper: the
 * daemon is about to give up root, so fork the privileged helper now.
 */
void qmgr_spawn_init(const char *queue_dir, int privileged, int helper, struct alias_ctx *alias)
{
    int sv[2];
    pid_t parent = getpid();

    mem_free(qmgr_spawn_queue_dir);
    qmgr_spawn_queue_dir = mem_strdup(queue_dir);
    qmgr_verify_alias = privileged ? alias : NULL;
    if (!helper || qmgr_helper_sock >= 0)
        return;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        msg_fatal("delivery helper: socketpair: %m");
    qmgr_helper_pid = fork();
    if (qmgr_helper_pid < 0)
        msg_fatal("delivery helper: fork: %m");
    if (qmgr_helper_pid == 0) {
        close(sv[0]);
        qmgr_helper_loop(sv[1], parent);
    }
    close(sv[1]);
    qmgr_helper_sock = sv[0];
    msg_info("privileged delivery helper started, pid %ld", (long) qmgr_helper_pid);
}

/* qmgr_spawn_helper_pid - the helper's pid, 0 when there is none */
pid_t qmgr_spawn_helper_pid(void)
{
    return qmgr_helper_sock >= 0 ? qmgr_helper_pid : 0;
}

/*
 * qmgr_spawn - start the delivery of the n targets of message id, whose
 * queue file is open on qfd; *result gets the read end of the result pipe
 * and *pid the delivery process (0 when the helper started it).  0, or -1.
 */
int qmgr_spawn(const char *id, const size_t *targets, size_t n, int qfd, int *result, pid_t *pid)
{
    int p[2];

    if (n == 0 || n > QMGR_BATCH_MAX || pipe2(p, O_CLOEXEC) < 0)
        return -1;
    if (qmgr_helper_sock < 0) {
        *pid = qmgr_fork_child(id, targets, n, qfd, p[1]);
        if (*pid < 0) {
            close(p[0]);
            close(p[1]);
            return -1;
        }
    } else {
        struct buf data = BUF_INIT;
        char ctl[CMSG_SPACE(2 * sizeof(int))];
        int fds[2] = {qfd, p[1]};
        struct iovec iov;
        struct msghdr mh;
        struct cmsghdr *cm;
        size_t i;

        buf_printf(&data, "%s ", id);
        for (i = 0; i < n; i++)
            buf_printf(&data, i ? ",%zu" : "%zu", targets[i]);
        if (data.len > QMGR_REQ_MAX)
            msg_panic("qmgr_spawn: request of %zu bytes", data.len);
        memset(&mh, 0, sizeof(mh));
        memset(ctl, 0, sizeof(ctl));
        iov.iov_base = data.data;
        iov.iov_len = data.len;
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl;
        mh.msg_controllen = sizeof(ctl);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(fds));
        memcpy(CMSG_DATA(cm), fds, sizeof(fds));
        if (sendmsg(qmgr_helper_sock, &mh, MSG_NOSIGNAL) < 0)
            msg_fatal("the privileged delivery helper is gone: %m");
        buf_free(&data);
        *pid = 0;
    }
    close(p[1]);
    *result = p[0];
    return 0;
}
