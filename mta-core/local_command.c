/*
 * local_command.c - delivery to a command (mailbox_command, or a |command
 * from aliases), as Postfix's pipe_command() does it.
 *
 * The command runs under /bin/sh -c in a session of its own, with the
 * environment it is given, the message on standard input and standard
 * output and error captured (the first LOCAL_CMD_OUTPUT_MAX bytes go into
 * the delivery status text).  It gets command_time_limit seconds; after
 * that it and its whole process group are killed and the delivery bounces,
 * as in Postfix.  The outcome follows Postfix:
 *
 *   exit 0                      sent
 *   killed by a signal          deferred, 4.3.0
 *   output "D.S.N text"         that status (4.x.x deferred, 5.x.x bounced)
 *   a <sysexits.h> status       its DSN: EX_TEMPFAIL (75) and EX_OSERR 4.3.0
 *                               deferred, the others bounced
 *   any other status            bounced, 5.3.0
 *
 * The command also gets PR_SET_PDEATHSIG: when the delivery process dies
 * (the daemon was killed), the command dies with it instead of delivering
 * a second time after the message was put back in the queue.
 *
 * Trust: the command line is the administrator's (or an alias file
 * owner's); the environment values come from the envelope and are passed
 * through Postfix's command_expansion_filter first.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "mta-core/local_command.h"
#include "mta-core/local_copy.h"

#define LOCAL_CMD_OUTPUT_MAX 4096 /* bytes of command output kept for the status text */

/* The sink that feeds the command while draining its output. */
struct local_cmd_sink {
    struct local_sink sink;
    int in;             /* the command's standard input, -1 once it is closed */
    int out;            /* its output, -1 at end of file */
    struct buf log;     /* the output kept */
    time_t deadline;
    int timed_out;
    int epipe;          /* the command stopped reading: the rest is dropped */
};

/* local_cmd_drain - read what the command wrote; 0 at EOF */
static int local_cmd_drain(struct local_cmd_sink *s)
{
    char chunk[4096];
    ssize_t n = read(s->out, chunk, sizeof(chunk));

    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : 0;
    if (n == 0)
        return 0;
    if (s->log.len < LOCAL_CMD_OUTPUT_MAX)
        buf_add(&s->log, chunk, s->log.len + (size_t) n > LOCAL_CMD_OUTPUT_MAX ?
                LOCAL_CMD_OUTPUT_MAX - s->log.len : (size_t) n);
    return 1;
}

/* local_cmd_wait_io - poll the pipes until in is writable (want_in) or out is done */
static int local_cmd_wait_io(struct local_cmd_sink *s, int want_in)
{
    struct pollfd p[2];
    int n = 0, left;

    left = (int) (s->deadline - time(NULL));
    if (left <= 0) {
        s->timed_out = 1;
        return -1;
    }
    if (want_in) {
        p[n].fd = s->in;
        p[n].events = POLLOUT;
        n++;
    }
    if (s->out >= 0) {
        p[n].fd = s->out;
        p[n].events = POLLIN;
        n++;
    }
    if (n == 0)
        return 0;
    if (poll(p, (nfds_t) n, left > 1 ? 1000 : left * 1000) < 0 && errno != EINTR)
        return -1;
    if (s->out >= 0 && (p[n - 1].revents & (POLLIN | POLLHUP | POLLERR)) && !local_cmd_drain(s)) {
        close(s->out);
        s->out = -1;
    }
    return 0;
}

/* local_cmd_write - the sink's write: feed stdin, keep reading the output */
static int local_cmd_write(struct local_sink *sink, const char *data, size_t len)
{
    struct local_cmd_sink *s = (struct local_cmd_sink *) sink;

    while (len > 0 && !s->epipe) {
        ssize_t n = write(s->in, data, len);

        if (n > 0) {
            data += n;
            len -= (size_t) n;
            continue;
        }
        if (n < 0 && errno == EPIPE) {
            s->epipe = 1;
            break;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        if (local_cmd_wait_io(s, 1) < 0) {
            if (s->timed_out)
                errno = ETIMEDOUT;
            return -1;
        }
    }
    return 0;
}

/* local_cmd_printable - Postfix's cleanup of output for a status text */
static void local_cmd_printable(struct buf *log)
{
    size_t i;

    for (i = 0; i < log->len; i++) {
        unsigned char c = (unsigned char) log->data[i];

        if (c == '\t' || c == '\n' || c == '\r')
            log->data[i] = ' ';
        else if (!isprint(c))
            log->data[i] = '_';
    }
    buf_trim(log);
}

/* local_dsn_prefix - length of a leading "D.S.N " in text, or 0 */
static size_t local_dsn_prefix(const char *text)
{
    const char *p = text;
    int n;

    if (*p != '2' && *p != '4' && *p != '5')
        return 0;
    p++;
    for (int part = 0; part < 2; part++) {
        if (*p++ != '.')
            return 0;
        for (n = 0; isdigit((unsigned char) *p) && n < 3; n++)
            p++;
        if (n == 0 || isdigit((unsigned char) *p))
            return 0;
    }
    if (*p != ' ' && *p != 0)
        return 0;
    return (size_t) (p - text);
}

/* The <sysexits.h> table, as Postfix's sys_exits.c has it. */
static const struct {
    int code;
    const char *dsn;
    const char *text;
} local_sysexits[] = {
    {EX_USAGE, "5.3.0", "command line usage error"},
    {EX_DATAERR, "5.6.0", "data format error"},
    {EX_NOINPUT, "5.3.0", "cannot open input"},
    {EX_NOUSER, "5.1.1", "user unknown"},
    {EX_NOHOST, "5.1.2", "host name unknown"},
    {EX_UNAVAILABLE, "5.3.0", "service unavailable"},
    {EX_SOFTWARE, "5.3.0", "internal software error"},
    {EX_OSERR, "4.3.0", "system resource problem"},
    {EX_OSFILE, "5.3.0", "critical OS file missing"},
    {EX_CANTCREAT, "5.2.0", "can't create user output file"},
    {EX_IOERR, "5.3.0", "input/output error"},
    {EX_TEMPFAIL, "4.3.0", "temporary failure"},
    {EX_PROTOCOL, "5.5.0", "remote error in protocol"},
    {EX_NOPERM, "5.7.0", "permission denied"},
    {EX_CONFIG, "5.3.5", "local configuration error"},
};

/* local_cmd_outcome - turn an exit status into a delivery result */
static void local_cmd_outcome(int status, const char *command, struct buf *log, struct local_result *res)
{
    const char *sep = log->len ? ". Command output: " : "";
    size_t i, dlen;

    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        local_result_set(res, "sent", "2.0.0", "delivered to command: %s", command);
        return;
    }
    if (WIFSIGNALED(status)) {
        local_result_set(res, "deferred", "4.3.0", "Command died with signal %d: \"%s\"%s%s", WTERMSIG(status),
                         command, sep, log->data);
        return;
    }
    if ((dlen = local_dsn_prefix(log->data)) > 0 && log->data[0] != '2') {
        struct buf dsn = BUF_INIT;

        buf_add(&dsn, log->data, dlen);
        local_result_set(res, log->data[0] == '4' ? "deferred" : "bounced", dsn.data, "%s",
                         log->data[dlen] ? log->data + dlen + 1 : "");
        buf_free(&dsn);
        return;
    }
    for (i = 0; i < sizeof(local_sysexits) / sizeof(local_sysexits[0]); i++) {
        if (local_sysexits[i].code == WEXITSTATUS(status)) {
            local_result_set(res, local_sysexits[i].dsn[0] == '4' ? "deferred" : "bounced", local_sysexits[i].dsn,
                             "%s%s%s", local_sysexits[i].text, sep, log->data);
            return;
        }
    }
    local_result_set(res, "bounced", "5.3.0", "Command died with status %d: \"%s\"%s%s", WEXITSTATUS(status),
                     command, sep, log->data);
}

/*
 * local_command_run - run command with env (NULL-terminated "NAME=value"
 * strings) in directory cwd, the message on its standard input; the
 * outcome in res.  The caller already has the privileges it should run with.
 */
void local_command_run(const struct local_conf *lc, const struct local_request *req, const char *command,
                       char *const *env, const char *cwd, const char *delivered, struct local_result *res)
{
    struct local_cmd_sink s;
    struct buf why = BUF_INIT;
    int in[2], out[2];
    pid_t parent = getpid(), pid;
    int status = 0, rc, reaped = 0, copy_errno;

    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        local_result_set(res, "deferred", "4.3.0", "pipe: %s", strerror(errno));
        return;
    }
    pid = fork();
    if (pid < 0) {
        local_result_set(res, "deferred", "4.3.0", "fork: %s", strerror(errno));
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        return;
    }
    if (pid == 0) {
        /* The command: its own session, so that a timeout kills all of it. */
        char *argv[] = {"sh", "-c", (char *) command, NULL};

        setsid();
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
            _exit(EX_OSERR);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(EX_TEMPFAIL);
        if (chdir(cwd) < 0 && chdir("/") < 0)
            _exit(EX_OSERR);
        execve("/bin/sh", argv, env);
        dprintf(2, "execute /bin/sh: %s", strerror(errno));
        _exit(EX_OSERR);
    }
    close(in[0]);
    close(out[1]);
    memset(&s, 0, sizeof(s));
    s.sink.write = local_cmd_write;
    s.in = in[1];
    s.out = out[0];
    buf_init(&s.log);
    s.deadline = time(NULL) + lc->command_time_limit;
    fcntl(s.in, F_SETFL, O_NONBLOCK);
    fcntl(s.out, F_SETFL, O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    rc = local_copy(req, delivered, LOCAL_COPY_COMMAND, &s.sink, &why);
    copy_errno = errno;
    close(s.in);
    /* The rest of the output, then the exit status, within the time limit. */
    while (!s.timed_out) {
        pid_t w;

        if (s.out >= 0) {
            if (local_cmd_wait_io(&s, 0) < 0)
                break;
            continue;
        }
        w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            reaped = 1;
            break;
        }
        if (time(NULL) >= s.deadline)
            s.timed_out = 1;
        else
            usleep(10000);
    }
    if (s.out >= 0)
        close(s.out);
    if (s.timed_out || !reaped) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        if (!reaped)
            waitpid(pid, &status, 0);
    }
    local_cmd_printable(&s.log);
    if (s.timed_out) {
        local_result_set(res, "bounced", "5.3.0", "Command time limit exceeded: \"%s\"%s%s", command,
                         s.log.len ? ". Command output: " : "", s.log.data);
    } else if (rc == LOCAL_COPY_READ_ERROR) {
        local_result_set(res, "deferred", "4.3.0", "error reading queue file: %s", why.data);
    } else if (rc == LOCAL_COPY_WRITE_ERROR && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        local_result_set(res, "bounced", "5.3.0", "Command failed: %s: \"%s\"", strerror(copy_errno), command);
    } else {
        local_cmd_outcome(status, command, &s.log, res);
    }
    buf_free(&s.log);
    buf_free(&why);
}
