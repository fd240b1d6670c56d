/*
 * eval.c - the procmailrc evaluator (see eval.h): variables and their side
 * effects, the walk over items, recipes and their actions.
 *
 * The order of things follows procmail's mainloop(): a recipe's head is
 * expanded (so "$FLAGS" works), its conditions are tried (eval_cond.c),
 * the outcome is remembered for A/a/E/e, and the action runs only when
 * the conditions held.  Delivering actions (folders, forwards, pipes)
 * end the evaluation unless `c` is given; filters, captures and blocks
 * never do.  A failed delivery falls through to the next recipe with
 * lastsucc cleared.  Everything procmail would log, we log with the rc
 * file and line.
 *
 * Trusts the parsed items (rc.c); expands and runs what the user wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "procsort/eval_int.h"
#include "procsort/folder.h"
#include "procsort/lock.h"
#include "procsort/plog.h"
#include "procsort/var.h"

/* What walking a list of items came to. */
#define WALK_ON 0        /* go on with the next item */
#define WALK_DELIVERED 1 /* delivered: stop everything */
#define WALK_STOP 2      /* stop reading rc files (HOST mismatch) */
#define WALK_SWITCH 3    /* SWITCHRC: stop this file, go on with another */

static int eval_items(struct eval *ev, const struct rc_file *rc, const struct rc_item *items, size_t n);

/* ---- the environment rcx expands with ---- */

static const char *eval_lookup(void *ctx, const char *name)
{
    struct eval *ev = ctx;

    if (name[0] >= '0' && name[0] <= '9' && name[1] == 0) {
        int k = name[0] - '0';

        if (k == 0)
            return ev->argv0;
        return k <= ev->nargs ? ev->args[k - 1] : 0;
    }
    return var_get(name);
}

static void eval_special(void *ctx, int which, struct buf *out)
{
    struct eval *ev = ctx;
    long score;

    switch (which) {
    case '$':
        buf_printf(out, "%ld", (long) getpid());
        break;
    case '?':
        buf_printf(out, "%d", ev->last_exit);
        break;
    case '#':
        buf_printf(out, "%d", ev->nargs);
        break;
    case '=':
        score = (long) ev->lastscore;
        if (score == 0 && ev->lastscore > 0)
            score = 1;
        buf_printf(out, "%ld", score);
        break;
    case '_':
        if (ev->nframes > 0)
            buf_addstr(out, ev->frames[ev->nframes - 1].rc->name);
        break;
    case '-':
        buf_addstr(out, var_get_or("LASTFOLDER", ""));
        break;
    default:
        break;
    }
}

static void eval_warn_cb(void *ctx, const char *text)
{
    eval_warn(ctx, "%s", text);
}

/* eval_warn - a problem, logged with the rc file and line being read */
void eval_warn(struct eval *ev, const char *fmt, ...)
{
    struct buf msg = BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (ev->item_file)
        plog_error("%s, line %d: %s", ev->item_file, ev->item_line, msg.data);
    else
        plog_error("%s", msg.data);
    if (ev->trace)
        fprintf(ev->trace, "%s:%d: warning: %s\n", ev->item_file ? ev->item_file : "-", ev->item_line, msg.data);
    buf_free(&msg);
}

/* eval_trace - one line of the dry-run trace */
void eval_trace(struct eval *ev, int line, const char *fmt, ...)
{
    va_list ap;

    if (!ev->trace)
        return;
    fprintf(ev->trace, "%s:%d: ", ev->item_file ? ev->item_file : "-", line);
    va_start(ap, fmt);
    vfprintf(ev->trace, fmt, ap);
    va_end(ap);
    fputc('\n', ev->trace);
    fflush(ev->trace);
}

/* eval_expand - expand rc text with procmail's rules (rcx) and our variables */
void eval_expand(struct eval *ev, const char *text, size_t len, int mode, struct rcx_result *res)
{
    struct rcsrc src;

    src.data = text;
    src.len = len;
    src.pos = 0;
    rcx_parse(&src, mode, &ev->env, res);
}

/* eval_mail_changed - the message was replaced: drop what was cached */
void eval_mail_changed(struct eval *ev)
{
    ev->mail_gen++;
}

/* ---- setup ---- */

/* eval_new - an evaluator for one message */
struct eval *eval_new(struct mail *mail)
{
    struct eval *ev = mem_zalloc(sizeof(*ev));
    int i;

    ev->mail = mail;
    ev->mail_gen = 1;
    for (i = 0; i < 3; i++)
        buf_init(&ev->framed[i]);
    buf_init(&ev->joined);
    ev->argv0 = "procsort";
    ev->saved_stdout = -1;
    ev->child_stdout = -1;
    ev->env.ctx = ev;
    ev->env.lookup = eval_lookup;
    ev->env.special = eval_special;
    ev->env.backquote = eval_backquote;
    ev->env.warn = eval_warn_cb;
    /* procmail's INIT_UMASK: UMASK starts at 077 whatever the invoking
     * umask, so files are 0600 and an existing folder gets no o+x mark
     * until the rc file sets UMASK (procmail.c: doumask(INIT_UMASK)) */
    ev->umask = 077;
    umask(ev->umask);
    return ev;
}

static struct lock_opts eval_lock_opts(struct eval *ev);

/* eval_free - release the evaluator (and any lock it still holds) */
void eval_free(struct eval *ev)
{
    struct lock_opts lo;
    int i;

    if (!ev)
        return;
    lo = eval_lock_opts(ev);
    if (ev->loclock)
        lock_release(ev->loclock, &lo);
    if (ev->globlock)
        lock_release(ev->globlock, &lo);
    mem_free(ev->loclock);
    mem_free(ev->globlock);
    mem_free(ev->switch_to);
    for (i = 0; i < 3; i++)
        buf_free(&ev->framed[i]);
    buf_free(&ev->joined);
    mem_free(ev);
}

/* eval_set_args - $1..$9, $#, "$@" */
void eval_set_args(struct eval *ev, char **args, int nargs)
{
    ev->args = args;
    ev->nargs = nargs;
}

/* eval_set_dry_run - procsort -n: trace to out, deliver and run nothing */
void eval_set_dry_run(struct eval *ev, FILE *trace)
{
    ev->dry_run = 1;
    ev->trace = trace;
}

/* eval_last_written - the size the log abstract shows for the last delivery */
long eval_last_written(const struct eval *ev)
{
    return ev->last_written;
}

/* eval_fake_delivery - DELIVERED=yes was assigned (the abstract of a failure says **Lost**) */
int eval_fake_delivery(const struct eval *ev)
{
    return ev->fake_delivery;
}

/* eval_set_argv0 - $0 */
void eval_set_argv0(struct eval *ev, const char *argv0)
{
    ev->argv0 = argv0;
}

/* ---- locks and folders: the glue to folder.c and lock.c ---- */

static void eval_folder_log(void *arg, int level, const char *line)
{
    (void) arg;
    if (level == FOLDER_LOG_LASTFOLDER)
        eval_setenv("LASTFOLDER", line);
    else if (level == FOLDER_LOG_ERROR)
        plog_error("%s", line);
    else if (level == FOLDER_LOG_NOTE)
        plog_error("%s", line);
    else
        plog_verbose("%s", line);
}

static struct lock_opts eval_lock_opts(struct eval *ev)
{
    struct lock_opts lo;

    lock_opts_init(&lo);
    lo.timeout = var_num("LOCKTIMEOUT");
    lo.sleep = var_num("LOCKSLEEP");
    lo.suspend = var_num("SUSPEND");
    lo.umask = ev->umask;
    lo.log.fn = eval_folder_log;
    lo.log.arg = ev;
    return lo;
}

static void eval_folder_opts(struct eval *ev, struct folder_opts *fo, const int *flags)
{
    folder_opts_init(fo);
    fo->umask = ev->umask;
    fo->lockext = var_str("LOCKEXT");
    fo->msgprefix = var_str("MSGPREFIX");
    fo->locktimeout = var_num("LOCKTIMEOUT");
    fo->locksleep = var_num("LOCKSLEEP");
    fo->suspend = var_num("SUSPEND");
    fo->timeout = var_num("TIMEOUT");
    fo->globlock = ev->globlock;
    fo->raw = flags ? flags[RCF_r] : 0;
    fo->ignore_errors = flags ? flags[RCF_i] : 0;
    fo->log.fn = eval_folder_log;
    fo->log.arg = ev;
}

static void eval_unlock_local(struct eval *ev)
{
    if (ev->loclock) {
        struct lock_opts lo = eval_lock_opts(ev);

        lock_release(ev->loclock, &lo);
        mem_free(ev->loclock);
        ev->loclock = 0;
    }
}

/* procmail's lcllock(): a recipe's own lockfile; 0 when it could not be had. */
static int eval_lock_local(struct eval *ev, const char *explicit_name, const char *folder)
{
    struct lock_opts lo = eval_lock_opts(ev);
    struct buf name = BUF_INIT, err = BUF_INIT;
    int ok = 1;

    if (!explicit_name && (strcmp(folder, "/dev/null") == 0 || strcmp(folder, "|") == 0))
        return 1;
    if (explicit_name)
        buf_setstr(&name, explicit_name);
    else {
        buf_setstr(&name, folder);
        buf_addstr(&name, var_str("LOCKEXT"));
    }
    if (ev->globlock && strcmp(name.data, ev->globlock) == 0) {
        eval_warn(ev, "Deadlock attempted on \"%s\"", name.data);
        ok = 0;
    } else if (ev->loclock && strcmp(ev->loclock, name.data) == 0) {
        ok = 1;
    } else {
        eval_unlock_local(ev);
        if (name.len == 0) {
            ok = 1;
        } else if (lock_acquire(name.data, &lo, &err) == 0) {
            ev->loclock = buf_detach(&name, 0);
        } else {
            ok = 0;
        }
    }
    buf_free(&name);
    buf_free(&err);
    return ok;
}

/* The part of the message a recipe hands over (h, b, or all of it). */
static void eval_part(struct eval *ev, const int *flags, size_t *from, size_t *count)
{
    struct mail *m = ev->mail;

    *from = 0;
    *count = m->text.len;
    if (flags[RCF_h] && !flags[RCF_b]) {
        *count = m->body;
    } else if (flags[RCF_b] && !flags[RCF_h]) {
        *from = m->body;
        *count = m->text.len - m->body;
    }
}

/*
 * Deliver [from, from+count) to the folders named in words (NUL-separated).
 * Returns 1 on success.  last gets what goes to LASTFOLDER.
 */
static int eval_to_folders(struct eval *ev, const char *words, size_t wlen, const int *flags,
                           size_t from, size_t count, int is_default, struct buf *last, long *written)
{
    const char *names[256];
    const char *p = words, *end = words + wlen;
    struct folder_msg fm;
    struct folder_opts fo;
    struct buf err = BUF_INIT;
    int n = 0, rc;

    while (p < end && n < (int) (sizeof(names) / sizeof(names[0]))) {
        names[n++] = p;
        p += strlen(p) + 1;
    }
    if (n == 0)
        return 0;
    folder_msg_whole(&fm, ev->mail->text.data, ev->mail->text.len, ev->mail->start,
                     ev->mail->body, ev->mail->escape);
    fm.from = from;
    fm.count = count;
    eval_folder_opts(ev, &fo, flags);
    fo.dotlock = is_default;
    rc = folder_deliver(names, n, &fm, &fo, last, written, &err);
    if (written)
        ev->last_written = *written;
    buf_free(&err);
    return rc == 0;
}

/* ---- variables with side effects (procmail's asenv) ---- */

static int eval_file(struct eval *ev, const char *path);

/*
 * eval_setenv - change a variable as procmail's sputenv() does: with
 * VERBOSE on, every change is logged first ("Assigning \"NAME=value\"",
 * or "Assigning \"NAME\"" when it is unset), whoever makes it.
 */
void eval_setenv(const char *name, const char *value)
{
    if (value) {
        plog_verbose("Assigning \"%s=%s\"", name, value);
        var_set(name, value);
    } else {
        plog_verbose("Assigning \"%s\"", name);
        var_unset(name);
    }
}

static void eval_side_effects(struct eval *ev, const char *name, const char *value);

/* eval_assign - set a variable (logged with VERBOSE) and do what assigning it does */
void eval_assign(struct eval *ev, const char *name, const char *value)
{
    eval_setenv(name, value);
    if (ev->trace)
        eval_trace(ev, ev->item_line, "%s=%s", name, value);
    eval_side_effects(ev, name, value);
}

/* The same without the log line (a capture's value: procmail logs "NAME=" before the program runs). */
static void eval_assign_quiet(struct eval *ev, const char *name, const char *value)
{
    var_set(name, value);
    if (ev->trace)
        eval_trace(ev, ev->item_line, "%s=%s", name, value);
    eval_side_effects(ev, name, value);
}

/*
 * eval_unset - a bare NAME in an rc file: the variable goes, and what
 * assigning it does is done with an empty value, as procmail's asenv("")
 * (LOCKFILE is released, UMASK becomes 0, a text setting such as
 * SHELLMETAS becomes empty, HOST="" is a mismatch, ...)
 */
static void eval_unset(struct eval *ev, const char *name)
{
    eval_setenv(name, 0);
    if (ev->trace)
        eval_trace(ev, ev->item_line, "%s unset", name);
    eval_side_effects(ev, name, "");
}

/* What assigning value to name does besides (procmail's asenv()). */
static void eval_side_effects(struct eval *ev, const char *name, const char *value)
{
    if (strcmp(name, "MAILDIR") == 0) {
        if (chdir(value) != 0) {
            eval_warn(ev, "Couldn't chdir to \"%s\"", value);
            eval_setenv("MAILDIR", "."); /* procmail's setmaildir(curdir) */
        }
    } else if (strcmp(name, "LOGFILE") == 0) {
        if (!ev->dry_run)
            plog_open(value);
    } else if (strcmp(name, "LOG") == 0) {
        if (!ev->dry_run)
            plog_raw(value, strlen(value));
    } else if (strcmp(name, "EXITCODE") == 0) {
        ev->exitcode_set = 1;
    } else if (strcmp(name, "SHIFT") == 0) {
        long k = var_parse_num(value, 0);

        if (k > 0) {
            if (k > ev->nargs)
                k = ev->nargs;
            ev->args += k;
            ev->nargs -= (int) k;
        }
    } else if (strcmp(name, "DROPPRIVS") == 0) {
        /* procsort has taken the recipient's identity before reading any rc file. */
        if (var_parse_num(value, 0))
            plog_verbose("Assuming identity of the recipient, VERBOSE=off");
    } else if (strcmp(name, "DELIVERED") == 0) {
        if (var_parse_num(value, 0) && !ev->dry_run) {
            pid_t pid;

            fflush(0);
            pid = fork();
            if (pid > 0)
                _exit(0); /* the MTA sees a delivery; the child goes on */
            if (pid < 0)
                eval_warn(ev, "Failed forking \"procsort\"");
            else
                ev->fake_delivery = 1;
            /* the child goes on as usual, DEFAULT included, as procmail's does */
        }
    } else if (strcmp(name, "LOCKFILE") == 0) {
        struct lock_opts lo = eval_lock_opts(ev);
        struct buf err = BUF_INIT;

        if (ev->globlock && strcmp(ev->globlock, value) == 0)
            return;
        if (ev->globlock) {
            lock_release(ev->globlock, &lo);
            mem_free(ev->globlock);
            ev->globlock = 0;
        }
        if (*value && !ev->dry_run) {
            if (lock_acquire(value, &lo, &err) == 0)
                ev->globlock = mem_strdup(value);
            else
                eval_setenv("LOCKFILE", 0);
        }
        buf_free(&err);
    } else if (strcmp(name, "UMASK") == 0) {
        ev->umask = (mode_t) (strtol(value, 0, 8) & 0777);
        umask(ev->umask);
    } else if (strcmp(name, "INCLUDERC") == 0) {
        if (ev->in_rcfile && *value) {
            int st = eval_file(ev, value);

            if (st != WALK_ON && st != WALK_SWITCH)
                ev->abort_rc = st;
        }
    } else if (strcmp(name, "SWITCHRC") == 0) {
        if (ev->in_rcfile) {
            mem_free(ev->switch_to);
            ev->switch_to = *value ? mem_strdup(value) : 0;
            ev->switch_pending = 1;
        }
    } else if (strcmp(name, "HOST") == 0) {
        char host[HOST_NAME_MAX + 1] = "";

        gethostname(host, sizeof(host) - 1);
        if (strcmp(value, host) != 0) {
            plog_verbose("HOST mismatched \"%s\"", host);
            eval_trace(ev, ev->item_line, "HOST mismatched \"%s\": this rc file ends here", host);
            ev->abort_rc = ev->in_rcfile ? WALK_STOP : EVAL_ABORT + 10;
        }
    }
}

/* eval_assign_text - a command-line NAME=value (the value expanded as procmail does) */
void eval_assign_text(struct eval *ev, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    struct rcx_result res;
    char *name;

    if (!eq)
        return;
    name = mem_strndup(assignment, (size_t) (eq - assignment));
    rcx_result_init(&res);
    eval_expand(ev, eq + 1, strlen(eq + 1), RCX_LINE, &res);
    eval_assign(ev, name, res.out.data);
    rcx_result_free(&res);
    mem_free(name);
}

/* ---- actions ---- */

static void eval_set_lastfolder(struct eval *ev, const char *value)
{
    (void) ev;
    eval_setenv("LASTFOLDER", value);
}

/* Skip a leading From_ line (and the >From lines after it), for forwards. */
static size_t eval_skip_from(const struct mail *m, size_t from, size_t count)
{
    const char *p = m->text.data + from;
    size_t k = 0;

    if (count < 5 || memcmp(p, "From ", 5) != 0)
        return 0;
    do {
        while (k < count && p[k++] != '\n')
            ;
    } while (k < count && p[k] == '>');
    return k;
}

/* A pipe, a forward or a capture: run cmd on the part.  Returns 1 on success. */
static int eval_program(struct eval *ev, const struct rc_item *item, const int *flags, struct eval_cmd *cmd,
                        size_t from, size_t count, int filter, int capture)
{
    struct buf out = BUF_INIT;
    int status = 0, wfail = 0, succeed = 0, pwait = flags[RCF_w] | (flags[RCF_W] << 1);
    int want_out = filter || capture;

    if (flags[RCF_c] && (filter || capture))
        eval_warn(ev, "Extraneous copy-flag ignored");
    if (capture)
        plog_verbose("Assigning \"%s=\"", item->name); /* procmail's primeStdout() */
    if (eval_cmd_run(ev, cmd, ev->mail->text.data + from, count, flags[RCF_r], want_out ? &out : 0,
                     &status, &wfail) != 0) {
        buf_free(&out);
        return 0;
    }
    if (wfail && !flags[RCF_i] && !want_out) {
        eval_warn(ev, "Error while writing to \"%s\"", eval_cmd_name(cmd));
    }
    if (pwait && status != 0) {
        if (!(pwait & 2) || plog_is_verbose())
            eval_warn(ev, "%s (%d) %s \"%s\"", (pwait & 2) ? "Non-zero exitcode" : "Program failure", status,
                      (pwait & 2) ? "from" : "of", eval_cmd_name(cmd));
        if (filter && (!(pwait & 2) || plog_is_verbose()))
            eval_warn(ev, "Rescue of unfiltered data succeeded");
        if (!want_out)
            eval_set_lastfolder(ev, cmd->line.data); /* procmail's pipin() assigns it anyway */
        buf_free(&out);
        return 0;
    }
    if (wfail && !flags[RCF_i]) {
        if (!want_out)
            eval_set_lastfolder(ev, cmd->line.data);
        buf_free(&out);
        return 0;
    }
    if (filter) {
        if (from == 0 && count != ev->mail->text.len) {
            mail_set_header(ev->mail, out.data, out.len);
        } else {
            buf_truncate(&ev->mail->text, from);
            buf_add(&ev->mail->text, out.data, out.len);
            mail_parse(ev->mail);
        }
        eval_mail_changed(ev);
        succeed = 1;
    } else if (capture) {
        if (out.len > 0 && out.data[out.len - 1] == '\n')
            buf_truncate(&out, out.len - 1);
        eval_assign_quiet(ev, item->name, out.data);
        succeed = 1;
    } else {
        succeed = 1;
        eval_set_lastfolder(ev, cmd->line.data);
    }
    buf_free(&out);
    return succeed;
}

/* procmail's implicit lockfile of a pipe: the file after ">>". */
static int eval_pipe_lock(struct eval *ev, const struct eval_cmd *cmd, const char *explicit_name)
{
    const char *p, *text = cmd->shell ? cmd->line.data : 0;
    struct buf name = BUF_INIT;
    int ok;

    if (explicit_name)
        return eval_lock_local(ev, explicit_name, "");
    if (!text) {
        /* the words, joined, are what procmail searched */
        text = cmd->line.data;
    }
    p = strstr(text, ">>");
    if (p) {
        p += 2;
        while (*p == ' ' || *p == '\t')
            p++;
        buf_add(&name, p, strcspn(p, " \t\n#`'\");"));
        if (cmd->shell && name.len) {
            struct rcx_result res;

            rcx_result_init(&res);
            eval_expand(ev, name.data, name.len, RCX_WORDS, &res);
            buf_setstr(&name, res.out.data);
            rcx_result_free(&res);
        }
    }
    if (!name.len) {
        eval_warn(ev, "Couldn't determine implicit lockfile from \"%s\"", eval_cmd_name(cmd));
        buf_free(&name);
        return 1;
    }
    ok = eval_lock_local(ev, 0, name.data);
    buf_free(&name);
    return ok;
}

/* Describe the flags for the trace. */
static void eval_flag_text(const int *flags, struct buf *out)
{
    int k;

    buf_reset(out);
    for (k = 0; k < RCF_COUNT; k++)
        if (flags[k])
            buf_addch(out, RCF_LETTERS[k]);
}

/* Run a block's items in a clone (the `c` flag on a block); 1 in the parent when fine. */
static int eval_block_clone(struct eval *ev, const struct rc_file *rc, const struct rc_item *item,
                            const int *flags, int *walk)
{
    pid_t pid;
    int status;

    if (ev->dry_run) {
        eval_trace(ev, item->line, "block copy (c): a clone would run the block and go on; traced inline");
        *walk = eval_items(ev, rc, item->items, item->nitems);
        if (*walk == WALK_DELIVERED)
            *walk = WALK_ON;
        return 1;
    }
    plog_verbose("Forking \"procsort\"");
    fflush(0);
    pid = fork();
    if (pid < 0) {
        eval_warn(ev, "Failed forking \"procsort\"");
        return 0;
    }
    if (pid == 0) {
        /* The clone: lockfiles are not inherited; it goes on as usual. */
        mem_free(ev->loclock);
        ev->loclock = 0;
        mem_free(ev->globlock);
        ev->globlock = 0;
        *walk = eval_items(ev, rc, item->items, item->nitems);
        return -1; /* tells the caller: we are the clone, continue after the block */
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if ((flags[RCF_w] || flags[RCF_W]) && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        if (flags[RCF_w] || plog_is_verbose())
            eval_warn(ev, "%s (%d) %s \"procsort\"", flags[RCF_W] ? "Non-zero exitcode" : "Program failure",
                      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                      flags[RCF_W] ? "from" : "of");
        return 0;
    }
    *walk = WALK_ON;
    return 1;
}

/* One recipe.  Returns a WALK_ value. */
static int eval_recipe(struct eval *ev, const struct rc_file *rc, const struct rc_item *item)
{
    struct rcx_result head, words;
    struct buf lock = BUF_INIT, leftover = BUF_INIT, ftext = BUF_INIT, last = BUF_INIT;
    int flags[RCF_COUNT], nrcond, has_lock, i, succeed = 0, walk = WALK_ON, delivering = 0;
    size_t from, count;

    rcx_result_init(&head);
    rcx_result_init(&words);
    ev->item_line = item->line;
    eval_expand(ev, rc->text.data + item->head.start, item->head.end - item->head.start, RCX_WORDS, &head);
    rc_head_flags(head.out.data, head.out.len, flags, &nrcond, &has_lock, &lock, &leftover);
    if (leftover.len)
        eval_warn(ev, "Skipped \"%s\"", leftover.data);
    eval_flag_text(flags, &ftext);
    eval_trace(ev, item->line, "recipe :0%s%s%s", ftext.data, has_lock ? ":" : "", lock.data);
    i = eval_conditions(ev, item, flags, 0);
    if (!flags[RCF_A] && !flags[RCF_a])
        ev->lastcond = i == 1;
    if (!ev->prevcond || !flags[RCF_E])
        ev->prevcond = i == 1;
    ev->item_line = item->action_line;
    eval_part(ev, flags, &from, &count);
    if (!i) {
        eval_trace(ev, item->line, "conditions not met: action skipped");
        goto done;
    }
    switch (item->action) {
    case RCA_NONE:
        eval_warn(ev, "Incomplete recipe");
        goto done;
    case RCA_BLOCK:
        if (has_lock && !flags[RCF_c])
            eval_warn(ev, "Extraneous locallockfile ignored");
        if (flags[RCF_b])
            eval_warn(ev, "Extraneous deliver-body flag ignored");
        if (flags[RCF_h])
            eval_warn(ev, "Extraneous deliver-head flag ignored");
        if (flags[RCF_i])
            eval_warn(ev, "Extraneous ignore-write-error flag ignored");
        if (flags[RCF_r])
            eval_warn(ev, "Extraneous raw-mode flag ignored");
        eval_trace(ev, item->line, "entering block");
        {
            int save_prev = ev->prevcond, save_last = ev->lastcond;

            if (has_lock && !eval_lock_local(ev, lock.len ? lock.data : 0, "")) {
                succeed = 0;
                ev->lastsucc = 0;
                goto done;
            }
            if (flags[RCF_c]) {
                int r = eval_block_clone(ev, rc, item, flags, &walk);

                if (r < 0) {
                    /* the clone: the block is done, go on after it as usual */
                    ev->prevcond = save_prev;
                    ev->lastcond = save_last;
                    ev->lastsucc = 1;
                    goto done;
                }
                ev->lastsucc = r;
                walk = walk == WALK_DELIVERED ? WALK_ON : walk;
                goto done;
            }
            walk = eval_items(ev, rc, item->items, item->nitems);
            if (walk == WALK_ON) {
                ev->prevcond = save_prev;
                ev->lastcond = save_last;
            }
            ev->lastsucc = 1;
        }
        goto done;
    case RCA_FORWARD: {
        struct eval_cmd cmd;
        struct rcx_result fl;
        size_t skip;

        eval_cmd_init(&cmd);
        buf_addstr(&cmd.words, var_str("SENDMAIL"));
        buf_addch(&cmd.words, 0);
        rcx_result_init(&fl);
        {
            const char *sf = var_str("SENDMAILFLAGS");
            const char *p = sf;

            /* procmail splits SENDMAILFLAGS on blanks, nothing more */
            while (*p) {
                size_t n;

                while (*p == ' ' || *p == '\t' || *p == '\n')
                    p++;
                n = strcspn(p, " \t\n");
                if (n) {
                    buf_add(&cmd.words, p, n);
                    buf_addch(&cmd.words, 0);
                }
                p += n;
            }
        }
        rcx_result_free(&fl);
        eval_expand(ev, rc->text.data + item->action_span.start, item->action_span.end - item->action_span.start,
                    RCX_WORDS, &words);
        buf_add(&cmd.words, words.out.data, words.out.len);
        {
            size_t k;

            buf_reset(&cmd.line);
            for (k = 0; k < cmd.words.len; k++)
                buf_addch(&cmd.line, cmd.words.data[k] ? cmd.words.data[k] : ' ');
            while (cmd.line.len && cmd.line.data[cmd.line.len - 1] == ' ')
                buf_truncate(&cmd.line, cmd.line.len - 1);
        }
        if (from == 0) {
            skip = eval_skip_from(ev->mail, from, count);
            from += skip;
            count -= skip;
        }
        delivering = !item->name;
        if (ev->dry_run) {
            eval_trace(ev, item->action_line, "would forward: %s", cmd.line.data);
            succeed = 1;
        } else {
            if (has_lock)
                (void) eval_pipe_lock(ev, &cmd, lock.len ? lock.data : 0);
            succeed = eval_program(ev, item, flags, &cmd, from, count, 0, item->name != 0);
        }
        eval_cmd_free(&cmd);
        break;
    }
    case RCA_PIPE: {
        struct eval_cmd cmd;
        const char *t = item->pipe;

        while (*t == ' ' || *t == '\t')
            t++;
        eval_cmd_init(&cmd);
        eval_cmd_parse(ev, item->pipe, &cmd);
        if (!cmd.shell && cmd.words.len <= 1 && !*t && !item->name && !flags[RCF_f]) {
            /* just "|": the message to our standard output */
            delivering = 1;
            if (ev->dry_run) {
                eval_trace(ev, item->action_line, "would write the message to standard output");
                succeed = 1;
            } else {
                struct folder_msg fm;
                struct folder_opts fo;
                int fd = dup(ev->saved_stdout >= 0 ? ev->saved_stdout : 1);

                folder_msg_whole(&fm, ev->mail->text.data, ev->mail->text.len, ev->mail->start,
                                 ev->mail->body, ev->mail->escape);
                fm.from = from;
                fm.count = count;
                eval_folder_opts(ev, &fo, flags);
                succeed = fd >= 0 && folder_dump(fd, FOLDER_PIPE, &fm, &fo, 0) == 0;
            }
            eval_cmd_free(&cmd);
            break;
        }
        delivering = !flags[RCF_f] && !item->name;
        if (ev->dry_run) {
            eval_trace(ev, item->action_line, "would %s: %s",
                       flags[RCF_f] ? "filter through" : item->name ? "capture the output of" : "pipe to",
                       cmd.line.data);
            succeed = 1;
        } else {
            if (has_lock)
                (void) eval_pipe_lock(ev, &cmd, lock.len ? lock.data : 0);
            succeed = eval_program(ev, item, flags, &cmd, from, count, flags[RCF_f], item->name != 0);
        }
        eval_cmd_free(&cmd);
        break;
    }
    case RCA_FOLDER: {
        long written = 0;

        if (flags[RCF_f]) {
            eval_warn(ev, "Extraneous filter-flag ignored");
            from = 0;
            count = ev->mail->text.len;
        }
        eval_expand(ev, rc->text.data + item->action_span.start, item->action_span.end - item->action_span.start,
                    RCX_WORDS, &words);
        delivering = 1;
        if (ev->dry_run) {
            struct buf names = BUF_INIT;
            size_t k;

            for (k = 0; k + 1 < words.out.len; k++)
                buf_addch(&names, words.out.data[k] ? words.out.data[k] : ' ');
            eval_trace(ev, item->action_line, "would deliver to %s", names.data);
            buf_free(&names);
            succeed = 1;
            break;
        }
        /* procmail delivers even when its local lockfile could not be had */
        if (has_lock)
            (void) eval_lock_local(ev, lock.len ? lock.data : 0, words.out.data);
        succeed = eval_to_folders(ev, words.out.data, words.out.len, flags, from, count, 0, &last, &written);
        if (last.len)
            var_set("LASTFOLDER", last.data); /* with its links: procmail appends them unlogged */
        if (succeed && flags[RCF_c] && var_num("LOGABSTRACT") == 2)
            plog_abstract(ev->mail, var_get_or("LASTFOLDER", ""), written);
        break;
    }
    }
    ev->lastsucc = succeed;
    if (succeed && delivering && !flags[RCF_c]) {
        if (ev->dry_run) {
            eval_trace(ev, item->action_line, "delivered: a real run stops here (the dry run goes on)");
        } else {
            ev->delivered = 1;
            walk = WALK_DELIVERED;
        }
    } else if (!succeed) {
        eval_trace(ev, item->action_line, "action failed: going on");
    }
done:
    eval_unlock_local(ev);
    rcx_result_free(&head);
    rcx_result_free(&words);
    buf_free(&lock);
    buf_free(&leftover);
    buf_free(&ftext);
    buf_free(&last);
    return walk;
}

static int eval_items(struct eval *ev, const struct rc_file *rc, const struct rc_item *items, size_t n)
{
    size_t k;
    int walk;

    for (k = 0; k < n; k++) {
        const struct rc_item *item = &items[k];

        ev->item_file = rc->name;
        ev->item_line = item->line;
        switch (item->kind) {
        case RC_ERROR:
            eval_warn(ev, "%s", item->text);
            continue;
        case RC_UNSET:
            eval_unset(ev, item->name);
            break;
        case RC_ASSIGN: {
            struct rcx_result res;

            rcx_result_init(&res);
            eval_expand(ev, rc->text.data + item->value.start, item->value.end - item->value.start, RCX_VALUE,
                        &res);
            eval_assign(ev, item->name, res.out.data);
            rcx_result_free(&res);
            break;
        }
        case RC_RECIPE:
            walk = eval_recipe(ev, rc, item);
            if (walk != WALK_ON)
                return walk;
            break;
        }
        if (ev->abort_rc)
            return ev->abort_rc;
        if (ev->switch_pending)
            return WALK_SWITCH;
    }
    return WALK_ON;
}

/* Evaluate one rc file (INCLUDERC, SWITCHRC and the command line's). */
static int eval_file(struct eval *ev, const char *path)
{
    struct buf err = BUF_INIT;
    struct rc_file *rc;
    char *name = mem_strdup(path);
    int walk = WALK_ON;
    const char *save_file = ev->item_file;
    int save_line = ev->item_line;

    for (;;) {
        if (ev->nframes >= EVAL_INCLUDE_DEPTH_MAX) {
            eval_warn(ev, "INCLUDERC nested more than %d deep: \"%s\" skipped", EVAL_INCLUDE_DEPTH_MAX, name);
            break;
        }
        rc = rc_load(name, &err);
        if (!rc) {
            eval_warn(ev, "Couldn't read \"%s\"", name);
            break;
        }
        eval_trace(ev, 0, "reading rc file %s", name);
        ev->frames[ev->nframes++].rc = rc;
        walk = eval_items(ev, rc, rc->items, rc->nitems);
        ev->nframes--;
        rc_free(rc);
        if (walk == WALK_SWITCH) {
            ev->switch_pending = 0;
            mem_free(name);
            name = ev->switch_to;
            ev->switch_to = 0;
            walk = WALK_ON;
            if (!name)
                break;
            continue;
        }
        break;
    }
    mem_free(name);
    buf_free(&err);
    ev->item_file = save_file;
    ev->item_line = save_line;
    return walk;
}

/*
 * eval_rcfile - evaluate an rc file given on the command line (or the
 * default one).  checked: the caller has done procmail's ownership and
 * permission checks.  Returns EVAL_END, EVAL_DELIVERED or EVAL_ABORT.
 */
int eval_rcfile(struct eval *ev, const char *path, int checked)
{
    int walk;

    (void) checked;
    ev->in_rcfile = 1;
    ev->abort_rc = 0;
    walk = eval_file(ev, path);
    ev->in_rcfile = 0;
    if (walk == WALK_DELIVERED || ev->delivered)
        return EVAL_DELIVERED;
    if (walk == WALK_STOP)
        return EVAL_ABORT;
    return EVAL_END;
}

/* eval_deliver_default - the end of the rc files: $DEFAULT, then $ORGMAIL; 1 on success */
int eval_deliver_default(struct eval *ev)
{
    const char *def = var_str("DEFAULT"), *org = var_get_or("ORGMAIL", "");
    struct buf last = BUF_INIT, words = BUF_INIT;
    long written = 0;
    int ok = 0;

    ev->item_file = 0;
    if (ev->dry_run) {
        eval_trace(ev, 0, "end of rc files: would deliver to $DEFAULT (%s)", def);
        return 1;
    }
    if (*def) {
        buf_setstr(&words, def);
        buf_addch(&words, 0);
        ok = eval_to_folders(ev, words.data, words.len, 0, 0, ev->mail->text.len, 1, &last, &written);
        if (last.len)
            var_set("LASTFOLDER", last.data);
    }
    if (!ok && *org && strcmp(org, def) != 0) {
        buf_reset(&last);
        buf_setstr(&words, org);
        buf_addch(&words, 0);
        ok = eval_to_folders(ev, words.data, words.len, 0, 0, ev->mail->text.len, 0, &last, &written);
        if (last.len)
            var_set("LASTFOLDER", last.data);
    }
    if (ok)
        ev->delivered = 1;
    buf_free(&last);
    buf_free(&words);
    return ok;
}

/*
 * eval_exit_code - the exit status: status is what delivery came to (0, or
 * EX_TEMPFAIL); EXITCODE overrides it, TRAP sees it, as procmail's
 * setexitcode() and exectrap().
 */
int eval_exit_code(struct eval *ev, int status)
{
    const char *trap = var_str("TRAP");
    const char *code = var_get("EXITCODE");
    long forced = -1;

    if (ev->exitcode_set && code) {
        forced = var_parse_num(code, -2);
        if (forced >= 0)
            status = (int) forced;
    } else if (*trap) {
        char num[32];

        snprintf(num, sizeof(num), "%d", status);
        eval_setenv("EXITCODE", num);
    }
    if (*trap && !ev->dry_run) {
        struct eval_cmd cmd;
        int st = 0, wf;

        eval_cmd_init(&cmd);
        eval_cmd_parse(ev, trap, &cmd);
        /* the trap's stdout goes to the log, as procmail connects it to stderr */
        ev->child_stdout = 2;
        if (eval_cmd_run(ev, &cmd, ev->mail->text.data, ev->mail->text.len, 0, 0, &st, &wf) == 0 && st != 0
            && forced == -2)
            status = st;
        ev->child_stdout = -1;
        eval_cmd_free(&cmd);
    }
    return status;
}
