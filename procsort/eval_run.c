/*
 * eval_run.c - run the programs a procmailrc names: pipes (| cmd),
 * filters (f), captures (VAR=| cmd), forwards (! addr), backquotes and
 * `?` conditions.
 *
 * As procmail: a command with none of $SHELLMETAS in it (and that is not
 * "test") is split into words by procmail's own rules and run without a
 * shell; otherwise "$SHELL $SHELLFLAGS command" runs it as written.  A
 * word list execvp(3) cannot start is given to /bin/sh as a script, as
 * procmail's shexec() does ("sh: cannot open ..."); "Failed to execute"
 * only when /bin/sh cannot be started either.  The
 * program's stdin gets the text (with a final newline added unless the
 * text ends in an empty line or `r` was given, as procmail's dump() does
 * for pipes), its stdout is /dev/null unless we read it, its stderr is
 * the log.  Input and output are moved with poll(2), so a filter that
 * writes before it has read everything cannot deadlock us.  $TIMEOUT
 * bounds a program's run ("Timeout, terminating ..." as procmail).
 *
 * Trusts nothing a program writes; output is held in growable buffers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "procsort/eval_int.h"
#include "procsort/plog.h"
#include "procsort/var.h"

#define EVAL_RUN_CHUNK 65536 /* bytes read from a program at a time */
#define EX_UNAVAILABLE_CODE 69
#define EVAL_BINSH "/bin/sh" /* what runs a program that execvp() cannot, as procmail's shexec() */

/* eval_cmd_init - an empty command */
void eval_cmd_init(struct eval_cmd *cmd)
{
    buf_init(&cmd->words);
    buf_init(&cmd->line);
    cmd->all_args = -1;
    cmd->shell = 0;
}

/* eval_cmd_free - release a command */
void eval_cmd_free(struct eval_cmd *cmd)
{
    buf_free(&cmd->words);
    buf_free(&cmd->line);
}

/*
 * eval_cmd_name - what procmail calls a command in its error lines: the
 * command line when a shell runs it, else the program alone (procmail
 * logs the split words before joining them again)
 */
const char *eval_cmd_name(const struct eval_cmd *cmd)
{
    if (cmd->shell)
        return cmd->line.data ? cmd->line.data : "";
    return cmd->words.len ? cmd->words.data : "";
}

/* "Executing" with VERBOSE: the shell's command line, or the arguments separated by commas. */
static void eval_cmd_log(char **argv, const struct eval_cmd *cmd)
{
    struct buf line = BUF_INIT;
    int k;

    if (!plog_is_verbose())
        return;
    if (cmd->shell) {
        plog_verbose("Executing \"%s\"", cmd->line.data);
        return;
    }
    for (k = 0; argv[k]; k++) {
        if (k)
            buf_addch(&line, ',');
        buf_addstr(&line, argv[k]);
    }
    plog_verbose("Executing \"%s\"", line.data ? line.data : "");
    buf_free(&line);
}

/* The words of a command joined by blanks, as procmail logs them. */
static void eval_cmd_join(struct eval_cmd *cmd)
{
    size_t i;

    buf_reset(&cmd->line);
    for (i = 0; i < cmd->words.len; i++)
        buf_addch(&cmd->line, cmd->words.data[i] ? cmd->words.data[i] : ' ');
    while (cmd->line.len > 0 && cmd->line.data[cmd->line.len - 1] == ' ')
        buf_truncate(&cmd->line, cmd->line.len - 1);
}

/* eval_cmd_parse - procmail's metaparse(): shell or our own word splitting */
void eval_cmd_parse(struct eval *ev, const char *text, struct eval_cmd *cmd)
{
    struct rcx_result res;

    buf_reset(&cmd->words);
    cmd->all_args = -1;
    if (rcx_has_meta(text, var_str("SHELLMETAS"))) {
        cmd->shell = 1;
        buf_setstr(&cmd->line, text);
        return;
    }
    rcx_result_init(&res);
    eval_expand(ev, text, strlen(text), RCX_WORDS, &res);
    if (strcmp(res.out.data, "test") == 0) {
        cmd->shell = 1;
        buf_setstr(&cmd->line, text);
    } else {
        cmd->shell = 0;
        buf_set(&cmd->words, res.out.data, res.out.len);
        cmd->all_args = res.all_args;
        eval_cmd_join(cmd);
    }
    rcx_result_free(&res);
}

/* The argv to exec: words, with a "$@" word replaced by the arguments. */
static char **eval_cmd_argv(struct eval *ev, const struct eval_cmd *cmd)
{
    char **argv;
    size_t n = 0, cap, i;
    const char *p = cmd->words.data, *end = cmd->words.data + cmd->words.len;

    if (cmd->shell) {
        argv = mem_array(4, sizeof(*argv));
        argv[0] = (char *) var_get_or("SHELL", "/bin/sh");
        argv[1] = (char *) var_str("SHELLFLAGS");
        argv[2] = cmd->line.data;
        argv[3] = 0;
        return argv;
    }
    cap = 8 + (size_t) ev->nargs;
    for (i = 0; i < cmd->words.len; i++)
        if (!p[i])
            cap++;
    argv = mem_array(cap, sizeof(*argv));
    while (p < end) {
        size_t len = strlen(p);

        if (cmd->all_args >= 0 && p + len == cmd->words.data + cmd->all_args && len == 0) {
            int k;

            for (k = 0; k < ev->nargs; k++)
                argv[n++] = ev->args[k];
        } else {
            argv[n++] = (char *) p;
        }
        p += len + 1;
    }
    argv[n] = 0;
    return argv;
}

static void eval_child_exec(char **argv, int in_fd, int out_fd, int stdout_fd)
{
    int null;

    if (in_fd >= 0) {
        dup2(in_fd, 0);
        close(in_fd);
    }
    if (out_fd < 0 && stdout_fd >= 0) {
        dup2(stdout_fd, 1);
    } else if (out_fd < 0) {
        null = open("/dev/null", O_WRONLY);
        if (null >= 0 && null != 1) {
            dup2(null, 1);
            close(null);
        }
    } else if (out_fd != 1) {
        dup2(out_fd, 1);
        close(out_fd);
    }
    signal(SIGPIPE, SIG_DFL);
    if (argv[0]) {
        size_t n = 0;
        char **shargv;

        execvp(argv[0], argv);
        /* procmail's shexec(): not a program, so perhaps a shell script */
        while (argv[n])
            n++;
        shargv = mem_array(n + 2, sizeof(*shargv));
        shargv[0] = EVAL_BINSH;
        memcpy(shargv + 1, argv, (n + 1) * sizeof(*shargv));
        execv(EVAL_BINSH, shargv);
    }
    plog_error("Failed to execute \"%s\"", argv[0] ? argv[0] : "");
    _exit(EX_UNAVAILABLE_CODE);
}

/*
 * eval_cmd_run - run cmd with in on its stdin; out (may be NULL) gets its
 * stdout.  Returns 0 when it ran and was waited for (*status: its exit
 * code, or 128 + signal), -1 when it could not be started.  *write_failed
 * tells whether it did not take all of its input.
 */
int eval_cmd_run(struct eval *ev, const struct eval_cmd *cmd, const char *in, size_t inlen,
                 int raw, struct buf *out, int *status, int *write_failed)
{
    int inpipe[2], outpipe[2] = { -1, -1 }, wstatus, timed_out = 0;
    char **argv;
    pid_t pid;
    size_t sent = 0, extra_len = 0;
    const char *extra = "\n";
    long timeout = var_num("TIMEOUT");
    time_t deadline = timeout > 0 ? time(0) + timeout : 0;

    *write_failed = 0;
    *status = 0;
    if (!raw && (inlen < 2 || !(in[inlen - 1] == '\n' && in[inlen - 2] == '\n')))
        extra_len = 1;
    if (pipe(inpipe) != 0 || (out && pipe(outpipe) != 0)) {
        plog_error("Failed forking \"%s\"", eval_cmd_name(cmd));
        return -1;
    }
    argv = eval_cmd_argv(ev, cmd);
    eval_cmd_log(argv, cmd);
    fflush(0);
    pid = fork();
    if (pid < 0) {
        plog_error("Failed forking \"%s\"", eval_cmd_name(cmd));
        mem_free(argv);
        close(inpipe[0]);
        close(inpipe[1]);
        if (out) {
            close(outpipe[0]);
            close(outpipe[1]);
        }
        return -1;
    }
    if (pid == 0) {
        close(inpipe[1]);
        if (out)
            close(outpipe[0]);
        if (ev->saved_stdout >= 0)
            close(ev->saved_stdout);
        eval_child_exec(argv, inpipe[0], out ? outpipe[1] : -1, ev->child_stdout);
    }
    mem_free(argv);
    close(inpipe[0]);
    if (out)
        close(outpipe[1]);
    fcntl(inpipe[1], F_SETFL, O_NONBLOCK);
    {
        struct pollfd pfd[2];
        int in_open = 1, out_open = out != 0;

        if (out)
            buf_grow(out, EVAL_RUN_CHUNK);
        while (in_open || out_open) {
            int nfd = 0, wait_ms = -1, r;

            if (in_open) {
                pfd[nfd].fd = inpipe[1];
                pfd[nfd].events = POLLOUT;
                nfd++;
            }
            if (out_open) {
                pfd[nfd].fd = outpipe[0];
                pfd[nfd].events = POLLIN;
                nfd++;
            }
            if (deadline) {
                time_t now = time(0);

                if (now >= deadline) {
                    timed_out = 1;
                    break;
                }
                wait_ms = (int) (deadline - now) * 1000;
            }
            r = poll(pfd, (nfds_t) nfd, wait_ms);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                break;
            nfd = 0;
            if (in_open) {
                if (pfd[nfd].revents) {
                    const char *src = sent < inlen ? in + sent : extra + (sent - inlen);
                    size_t left = sent < inlen ? inlen - sent : inlen + extra_len - sent;
                    ssize_t w = left ? write(inpipe[1], src, left) : 0;

                    if (w > 0)
                        sent += (size_t) w;
                    else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                        *write_failed = 1;
                        in_open = 0;
                        close(inpipe[1]);
                    }
                    if (in_open && sent >= inlen + extra_len) {
                        in_open = 0;
                        close(inpipe[1]);
                    }
                }
                nfd++;
            }
            if (out_open && pfd[nfd].revents) {
                ssize_t got;

                buf_grow(out, EVAL_RUN_CHUNK);
                got = read(outpipe[0], out->data + out->len, EVAL_RUN_CHUNK);
                if (got > 0) {
                    out->len += (size_t) got;
                    out->data[out->len] = 0;
                } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                    out_open = 0;
                    close(outpipe[0]);
                }
            }
        }
        if (in_open)
            close(inpipe[1]);
        if (out_open)
            close(outpipe[0]);
    }
    for (;;) {
        pid_t w = waitpid(pid, &wstatus, deadline && !timed_out ? WNOHANG : 0);

        if (w == pid)
            break;
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            wstatus = 0;
            break;
        }
        if (timed_out || (deadline && time(0) >= deadline)) {
            timed_out = 1;
            kill(pid, SIGTERM);
            waitpid(pid, &wstatus, 0);
            break;
        }
        {
            struct timespec ts = { 0, 10 * 1000 * 1000 };

            nanosleep(&ts, 0);
        }
    }
    if (timed_out) {
        kill(pid, SIGTERM);
        /* procmail names what it started: the shell's command line, or the program */
        plog_error("Timeout, terminating \"%s\"", eval_cmd_name(cmd));
    }
    if (WIFEXITED(wstatus))
        *status = WEXITSTATUS(wstatus);
    else if (WIFSIGNALED(wstatus))
        *status = -WTERMSIG(wstatus); /* procmail shows a signal as its negative */
    if (timed_out && *status == 0)
        *status = -SIGTERM;
    if (sent < inlen + extra_len)
        *write_failed = 1;
    ev->last_written = (long) sent;
    ev->last_exit = *status;
    return 0;
}

/* eval_backquote - `command`: the message on its stdin, its stdout appended to out */
void eval_backquote(void *ctx, const char *text, struct buf *out)
{
    struct eval *ev = ctx;
    struct eval_cmd cmd;
    int status, failed;

    if (ev->dry_run) {
        eval_trace(ev, ev->item_line, "`%s` not run (dry run): empty", text);
        return;
    }
    eval_cmd_init(&cmd);
    eval_cmd_parse(ev, text, &cmd);
    (void) eval_cmd_run(ev, &cmd, ev->mail->text.data, ev->mail->text.len, 0, out, &status, &failed);
    eval_cmd_free(&cmd);
}
