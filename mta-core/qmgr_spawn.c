/*
 * qmgr_spawn.c - starting delivery processes.
 *
 The queue manager forks each delivery process itself: unprivileged
 * (tests, home_base hosts), or as root in a queue manager process of its
 * own.  When instead the process that runs the queue manager is about to
 * give up root (qmgr_init() called before the drop), qmgr_init() forks a
 * small helper that stays root and does nothing but fork delivery
 * processes when the queue manager asks: a datagram
 * "ID TARGET" with two descriptors (the queue file, and the pipe the
 * result goes back on).  Whenever deliveries change identity, the
 * delivery process trusts the queue file no further than it must (the
 * unprivileged SMTP side writes queue files): it never runs anything as
 * root, and checks that a |command or /file target really comes out of the
 * alias maps for its recipient before it runs it, so that a forged queue
 * file cannot have a command of its choice run as someone else.
 *
 * Either way the delivery process reads the message, hands the target to
 * its transport, writes "status\tdsn\trelay\ttext\n" on the pipe and exits;
 * it dies with its parent (PR_SET_PDEATHSIG), and so does the helper.
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

#define QMGR_REQ_MAX 128 /* bytes in a helper request */

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

/* qmgr_child_run - the delivery process: read, deliver, report, exit */
static void __attribute__((noreturn)) qmgr_child_run(const char *id, size_t target, int qfd, int out)
{
    const struct qmgr_transport *tr;
    const struct queue_target *t;
    struct queue_msg *msg = NULL;
    struct qmgr_delivery d;
    struct qmgr_result res;
    struct buf line = BUF_INIT, path = BUF_INIT, err = BUF_INIT;
    const char *p;

    memset(&res, 0, sizeof(res));
    buf_init(&res.dsn);
    buf_init(&res.text);
    buf_init(&res.relay);
    queue_path(&path, qmgr_spawn_queue_dir, QUEUE_ACTIVE, id);
    if (queue_read_fd(qfd, path.data, &msg, &err) < 0 || target >= msg->ntargets) {
        snprintf(res.status, sizeof(res.status), "deferred");
        buf_setstr(&res.dsn, "4.3.0");
        buf_printf(&res.text, "cannot read the queue file: %s", err.len ? err.data : "no such target");
        buf_setstr(&res.relay, "none");
        goto report;
    }
    t = &msg->targets[target];
    tr = qmgr_transport_find(t->kind);
    if (tr == NULL || tr->deliver == NULL) {
        snprintf(res.status, sizeof(res.status), "deferred");
        buf_setstr(&res.dsn, "4.3.0");
        buf_setstr(&res.text, "mail transport unavailable");
        buf_setstr(&res.relay, "none");
    } else if (qmgr_verify_alias && (strcmp(t->kind, "command") == 0 || strcmp(t->kind, "file") == 0) &&
               !qmgr_verify_target(msg, t)) {
        snprintf(res.status, sizeof(res.status), "bounced");
        buf_setstr(&res.dsn, "5.3.0");
        buf_printf(&res.text, "%s \"%s\" is not (or no longer) in the aliases of %s", t->kind, t->target,
                   msg->rcpts[t->parent].address);
        buf_setstr(&res.relay, tr->name);
    } else {
        d.queue_id = id;
        d.fd = qfd;
        d.msg = msg;
        d.target = t;
        d.target_index = target;
        tr->deliver(&d, &res);
        if (res.relay.len == 0)
            buf_setstr(&res.relay, tr->name);
    }
report:
    buf_printf(&line, "%s\t%s\t%s\t", res.status[0] ? res.status : "deferred", res.dsn.data, res.relay.data);
    for (p = res.text.data; *p; p++)
        buf_addch(&line, *p == '\n' || *p == '\t' ? ' ' : *p);
    buf_addch(&line, '\n');
    if (write(out, line.data, line.len) != (ssize_t) line.len)
        _exit(1);
    _exit(0);
}

/* qmgr_fork_child - fork one delivery process; its pid, or -1 */
static pid_t qmgr_fork_child(const char *id, size_t target, int qfd, int out)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid == 0) {
        int keep[2] = {qfd, out};

        qmgr_close_fds(keep, 2);
        qmgr_child_signals(parent);
        qmgr_child_run(id, target, qfd, out);
    }
    return pid;
}

/* qmgr_helper_request - one request: "ID TARGET" and two descriptors */
static void qmgr_helper_request(int sock)
{
    char data[QMGR_REQ_MAX + 1];
    char ctl[CMSG_SPACE(2 * sizeof(int))];
    struct iovec iov = {data, QMGR_REQ_MAX};
    struct msghdr mh;
    struct cmsghdr *cm;
    int fds[2] = {-1, -1};
    char id[QUEUE_ID_SIZE];
    unsigned long target;
    ssize_t n;

    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof(ctl);
    n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    if (n == 0)
        _exit(0); /* the daemon is gone */
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return;
        msg_fatal("delivery helper: recvmsg: %m");
    }
    for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(2 * sizeof(int)))
            memcpy(fds, CMSG_DATA(cm), sizeof(fds));
    data[n] = 0;
    if (fds[0] < 0 || fds[1] < 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
        sscanf(data, "%31s %lu", id, &target) != 2 || !queue_id_ok(id)) {
        msg_warn("delivery helper: malformed request ignored");
    } else if (qmgr_fork_child(id, (size_t) target, fds[0], fds[1]) < 0) {
        msg_warn("delivery helper: fork: %m");
    }
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
 * qmgr_spawn - start the delivery of target of message id, whose queue
 * file is open on qfd; *result gets the read end of the result pipe and
 * *pid the delivery process (0 when the helper started it).  0, or -1.
 */
int qmgr_spawn(const char *id, size_t target, int qfd, int *result, pid_t *pid)
{
    int p[2];

    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    if (qmgr_helper_sock < 0) {
        *pid = qmgr_fork_child(id, target, qfd, p[1]);
        if (*pid < 0) {
            close(p[0]);
            close(p[1]);
            return -1;
        }
    } else {
        char data[QMGR_REQ_MAX];
        char ctl[CMSG_SPACE(2 * sizeof(int))];
        int fds[2] = {qfd, p[1]};
        struct iovec iov;
        struct msghdr mh;
        struct cmsghdr *cm;
        int len = snprintf(data, sizeof(data), "%s %zu", id, target);

        memset(&mh, 0, sizeof(mh));
        memset(ctl, 0, sizeof(ctl));
        iov.iov_base = data;
        iov.iov_len = (size_t) len;
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
        *pid = 0;
    }
    close(p[1]);
    *result = p[0];
    return 0;
}
