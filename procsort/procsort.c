/*
 * procsort.c - the procmail 3.22 drop-in: read the message, run the rc
 * files, deliver, exit with procmail's codes.  See procsort(1).
 *
 * main() only strings the modules together, in procmail's order:
 * options, identity and environment, the message, command-line
 * assignments, /etc/procmailrc, the user's rc file(s), $DEFAULT, the
 * exit code (EXITCODE, TRAP) and the log abstract.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "procsort/cmdline.h"
#include "procsort/eval.h"
#include "procsort/folder.h"
#include "procsort/lint.h"
#include "procsort/lock.h"
#include "procsort/mail.h"
#include "procsort/plog.h"
#include "procsort/rccheck.h"
#include "procsort/setup.h"
#include "procsort/var.h"

#define EX_OK_ 0
#define EX_USAGE_ 64
#define EX_NOINPUT_ 66
#define EX_NOUSER_ 67
#define EX_NOPERM_ 77
#define EX_TEMPFAIL_ 75
#define ETC_PROCMAILRC "/etc/procmailrc"

static void usage(void)
{
    fputs("Usage: procsort [-vptoYn] [-f fromwhom] [parameter=value | rcfile] ...\n"
          "   Or: procsort [-toYn] [-f fromwhom] [-a argument] ... -d recipient ...\n"
          "   Or: procsort [-ptYn] [-f fromwhom] -m [parameter=value] ... rcfile [arg] ...\n"
          "   Or: procsort --lint rcfile ...\n"
          "\t-n\t\tdry run: trace every condition, deliver nothing\n"
          "\t--lint\t\tcheck rc files and report every problem with its line\n",
          stderr);
}

/*
 * -v: procmail's -v text, line for line after the banner, so that scripts
 * reading "Locking strategies:" or "Your system mailbox:" work unchanged;
 * the banner names procsort instead of procmail's version and credits.
 */
static void version(void)
{
    struct setup_user me;

    fputs("procsort (mailsift), procmail v3.22 compatible\n"
          "\n"
          "Locking strategies:\tdotlocking, fcntl()\n"
          "Default rcfile:\t\t$HOME/.procmailrc\n"
          "\tIt may be writable by your primary group\n",
          stderr);
    if (setup_find_user(0, getuid(), &me) == 0) {
        fprintf(stderr, "Your system mailbox:\t%s/%s\n", SETUP_MAILSPOOL, me.name);
        setup_user_free(&me);
    } else {
        fputs("Your system mailbox:\t\n", stderr);
    }
}

/* chdir to MAILDIR (default $HOME), as procmail does when it opens an rc file. */
static void go_maildir(struct eval *ev)
{
    const char *dir = var_get("MAILDIR");
    const char *home = var_get_or("HOME", "/");

    if (!dir)
        dir = home;
    if (chdir(dir) == 0) {
        eval_assign(ev, "MAILDIR", dir);
        return;
    }
    plog_error("Couldn't chdir to \"%s\"", dir);
    if (strcmp(dir, home) != 0 && chdir(home) == 0) {
        eval_assign(ev, "MAILDIR", home);
        return;
    }
    var_set("MAILDIR", ".");
}

/* Where a command-line rc file is, and how it is checked. */
static char *rc_path(const char *name, int *type)
{
    struct buf path = BUF_INIT;

    if (name[0] == '/') {
        *type = RCCHECK_ABSOLUTE;
        buf_setstr(&path, name);
    } else if (name[0] == '.' && name[1] == '/') {
        *type = RCCHECK_CURRENT;
        buf_setstr(&path, name);
    } else {
        *type = RCCHECK_ABSOLUTE;
        buf_printf(&path, "%s/%s", var_get_or("HOME", "/"), name); /* procmail: $HOME, not $MAILDIR */
    }
    return buf_detach(&path, 0);
}

/*
 * Run one rc file after procmail's checks.  Returns -1 when it could not be
 * read (missing or suspicious), else what eval_rcfile says.
 */
static int run_rc(struct eval *ev, const char *path, int type, int warn_missing, int *didchd,
                  const struct setup_user *user)
{
    int ok = rccheck(path, type, user->uid, user->gid);

    if (ok == 0) {
        if (warn_missing)
            plog_error("Couldn't read \"%s\"", path);
        return -1;
    }
    if (ok < 0) {
        /* procmail then says it could not read it, warned or not */
        plog_error("Suspicious rcfile \"%s\"", path);
        plog_error("Couldn't read \"%s\"", path);
        return -1;
    }
    plog_verbose("Rcfile: \"%s\"", path);
    if (type == RCCHECK_CURRENT) {
        if (!*didchd) {
            eval_assign(ev, "MAILDIR", ".");
            *didchd = 1;
        }
    } else if (!*didchd) {
        go_maildir(ev);
        *didchd = 1;
    }
    return eval_rcfile(ev, path, 1);
}

static void screen_log(void *arg, int level, const char *line)
{
    (void) arg;
    if (level == FOLDER_LOG_ERROR || level == FOLDER_LOG_NOTE)
        plog_error("%s", line);
    else if (level == FOLDER_LOG_VERBOSE)
        plog_verbose("%s", line);
}

/*
 * procmail's screenmailbox() for a delivery as root (-d): the recipient's
 * system mailbox is made fit before we become the recipient (see
 * folder_screen.c).  Returns 1 when it is fit, 0 when it cannot be made so
 * (the caller drops ORGMAIL, as procmail), FOLDER_SCREEN_AUTOFORWARD for
 * a SysV autoforwarding mailbox.  *sgid gets the group to keep for the
 * mailbox's lockfile, which lock_sysbox() learns (procmail's defdeflock).
 */
static int screen_mailbox(const struct setup_user *user, gid_t *sgid)
{
    struct folder_opts fo;
    struct buf path = BUF_INIT;
    struct stat st;
    int r;

    folder_opts_init(&fo); /* procmail's defaults: UMASK 077, SUSPEND 16 */
    fo.log.fn = screen_log;
    buf_printf(&path, "%s/%s", SETUP_MAILSPOOL, user->name);
    *sgid = user->gid;
    r = folder_screen_mailbox(path.data, user->uid, user->gid, user->name, &fo, sgid);
    if (r == 0 && lstat(path.data, &st) == 0 && !S_ISDIR(st.st_mode)) {
        buf_addstr(&path, fo.lockext ? fo.lockext : ".lock");
        lock_sysbox(path.data, *sgid);
    }
    buf_free(&path);
    return r == FOLDER_SCREEN_AUTOFORWARD ? r : r == 0;
}

/*
 * Deliver one message for one recipient (or the invoker); returns the exit
 * status.  sysmbox_fit is 0 when screening found the system mailbox unfit.
 */
static int deliver(struct cmdline *cl, struct mail *mail, const struct setup_user *user, int saved_stdout,
                   int sysmbox_fit)
{
    struct eval *ev = eval_new(mail);
    int status = EX_TEMPFAIL_, didchd = 0, outcome = EVAL_END, i, first_rc = -1;
    int presets = !cl->preserve || !cl->mailfilter;

    FILE *trace = 0;

    setup_environment(user, cl->preserve, presets);
    if (cl->mailfilter) {
        var_unset("DEFAULT");
        var_unset("ORGMAIL");
    } else if (!var_get("ORGMAIL") || !*var_get("ORGMAIL")) {
        var_set("ORGMAIL", var_get_or("DEFAULT", ""));
    }
    if (!sysmbox_fit) {
        /* procmail's nix_sysmbox: no ORGMAIL, and no DEFAULT where it was
         * the same mailbox (only the setting: $DEFAULT stays) */
        const char *org = var_get("ORGMAIL");

        if (org && strcmp(org, var_str("DEFAULT")) == 0)
            var_set_internal("DEFAULT", "");
        var_unset("ORGMAIL");
    }
    if (cl->dry_run) {
        /* the trace goes to the real standard output, which setup_stdout() moved aside */
        trace = fdopen(dup(saved_stdout >= 0 ? saved_stdout : 2), "w");
        eval_set_dry_run(ev, trace ? trace : stderr);
    }
    eval_set_args(ev, cl->args, cl->nargs);
    /* Command-line assignments first; with -m, words after the rc file are $1... */
    for (i = 0; i < cl->nrest; i++) {
        if (strchr(cl->rest[i], '=')) {
            if (cl->mailfilter && first_rc >= 0)
                continue;
            eval_assign_text(ev, cl->rest[i]);
            if (strncmp(cl->rest[i], "MAILDIR=", 8) == 0)
                didchd = 1;
        } else if (first_rc < 0) {
            first_rc = i;
            if (cl->mailfilter) {
                eval_set_args(ev, cl->rest + i + 1, cl->nrest - i - 1);
                break;
            }
        }
    }
    if (cl->mailfilter && first_rc < 0) {
        plog_error("Missing rcfile");
        eval_free(ev);
        return EX_NOINPUT_;
    }
    if (first_rc < 0 && !cl->preserve && access(ETC_PROCMAILRC, R_OK) == 0) {
        plog_verbose("Rcfile: \"%s\"", ETC_PROCMAILRC);
        outcome = eval_rcfile(ev, ETC_PROCMAILRC, 1);
    }
    if (outcome == EVAL_END) {
        if (first_rc < 0) {
            char *path = 0;
            struct buf p = BUF_INIT;

            buf_printf(&p, "%s/.procmailrc", var_get_or("HOME", "/"));
            path = buf_detach(&p, 0);
            outcome = run_rc(ev, path, RCCHECK_DEFAULT, 0, &didchd, user);
            if (outcome < 0) {
                if (!didchd)
                    go_maildir(ev);
                outcome = EVAL_END;
            }
            mem_free(path);
        } else {
            int warn = 1;

            for (i = first_rc; i < cl->nrest; i++) {
                int type;
                char *path;

                if (strchr(cl->rest[i], '=') && !cl->mailfilter)
                    continue;
                path = rc_path(cl->rest[i], &type);
                outcome = run_rc(ev, path, type, warn, &didchd, user);
                mem_free(path);
                warn = 0;
                if (cl->mailfilter)
                    break;
                if (outcome == EVAL_ABORT)
                    continue; /* HOST mismatch: the next rc file */
                if (outcome >= 0)
                    break;
            }
            if (outcome == EVAL_ABORT) /* all rc files done after a mismatch: "delivered" */
                outcome = EVAL_DELIVERED;
            if (outcome < 0) {
                if (!didchd)
                    go_maildir(ev);
                outcome = EVAL_END;
            }
        }
    }
    if (outcome == EVAL_DELIVERED)
        status = EX_OK_;
    else if (eval_deliver_default(ev))
        status = EX_OK_;
    if (cl->dry_run)
        status = EX_OK_;
    /* The abstract tells where the message went, so it is written before
     * EXITCODE and TRAP change the exit status (procmail's Terminate()). */
    if (!cl->dry_run)
        plog_abstract(mail, status == EX_OK_ ? var_get_or("LASTFOLDER", "")
                            : eval_fake_delivery(ev) ? "**Lost**" : "**Requeued**",
                      eval_last_written(ev));
    status = eval_exit_code(ev, status);
    eval_free(ev);
    if (trace)
        fclose(trace);
    return status;
}

int main(int argc, char **argv)
{
    struct cmdline cl;
    struct mail mail;
    struct mail_from from;
    struct setup_user invoker, user;
    struct buf err = BUF_INIT;
    int saved_stdout, status = EX_OK_, i;
    char uidname[32];

    msg_open("procsort", MSG_STDERR, 0);
    msg_set_fatal_status(EX_TEMPFAIL_);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGXFSZ, SIG_IGN);
    if (cmdline_parse(argc, argv, &cl)) {
        status = cl.help ? EX_USAGE_ : EX_OK_;
        if (cl.help)
            usage();
        else
            version();
        cmdline_free(&cl);
        return status;
    }
    if (cl.lint) {
        int problems = 0;

        if (cl.nrest == 0) {
            usage();
            cmdline_free(&cl);
            return EX_USAGE_;
        }
        for (i = 0; i < cl.nrest; i++) {
            int n = lint_file(cl.rest[i], stdout);

            problems += n < 0 ? 1 : n;
        }
        cmdline_free(&cl);
        return problems ? 1 : 0;
    }
    if (cl.lmtp) {
        plog_error("LMTP support not enabled in this binary");
        cmdline_free(&cl);
        return EX_USAGE_;
    }
    saved_stdout = setup_stdout();
    if (setup_find_user(0, getuid(), &invoker) != 0) {
        snprintf(uidname, sizeof(uidname), "%ld", (long) getuid());
        memset(&invoker, 0, sizeof(invoker));
        invoker.name = mem_strdup(uidname);
        invoker.home = mem_strdup("/");
        invoker.shell = mem_strdup("/bin/sh");
        invoker.uid = getuid();
        invoker.gid = getgid();
    }
    mail_init(&mail);
    mail.berkeley = cl.berkeley;
    memset(&from, 0, sizeof(from));
    from.sender = cl.from;
    from.invoker = invoker.name;
    from.privs = (cl.nrecipients == 0 || getuid() == geteuid() || getuid() == 0) ? 1 : cl.override ? -1 : 0;
    from.delivery = cl.nrecipients > 0;
    from.now = (long) time(0);
    if (mail_read(&mail, 0, &from, &err) != 0) {
        plog_error("%s", err.data);
        return EX_TEMPFAIL_;
    }
    if (cl.nrecipients == 0) {
        const char *logname = getenv("LOGNAME");
        struct setup_user hint;

        user = invoker;
        if (logname && setup_find_user(logname, 0, &hint) == 0) {
            if (hint.uid == invoker.uid) {
                user = hint;
                setup_user_free(&invoker);
                invoker = hint;
            } else {
                setup_user_free(&hint);
            }
        }
        if (geteuid() != getuid() && setuid(getuid()) != 0)
            msg_fatal("cannot drop privileges: %s", strerror(errno));
        status = deliver(&cl, &mail, &user, saved_stdout, 1);
    } else {
        for (i = 0; i < cl.nrecipients; i++) {
            pid_t pid = 0;
            int st, fit;
            gid_t sgid;

            if (cl.nrecipients > 1) {
                fflush(0);
                pid = fork();
                if (pid < 0) {
                    plog_error("Failed forking \"procsort\"");
                    status = EX_TEMPFAIL_;
                    continue;
                }
                if (pid > 0) {
                    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                        ;
                    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                        status = WIFEXITED(st) ? WEXITSTATUS(st) : EX_TEMPFAIL_;
                    continue;
                }
            }
            if (setup_find_user(cl.recipients[i], 0, &user) != 0) {
                plog_error("Unknown user \"%s\"", cl.recipients[i]);
                st = EX_NOUSER_;
            } else if (geteuid() != 0 && getuid() != user.uid) {
                plog_error("Insufficient privileges to deliver to \"%s\"", cl.recipients[i]);
                st = EX_NOPERM_;
            } else if ((sgid = user.gid, fit = geteuid() == 0 ? screen_mailbox(&user, &sgid) : 1)
                       == FOLDER_SCREEN_AUTOFORWARD) {
                st = EX_NOUSER_; /* procmail exits at once */
            } else if (setup_become(&user, sgid) != 0) {
                plog_error("Insufficient privileges to deliver to \"%s\"", cl.recipients[i]);
                st = EX_NOPERM_;
            } else {
                st = deliver(&cl, &mail, &user, saved_stdout, fit);
                setup_drop_saved_group();
            }
            setup_user_free(&user);
            if (cl.nrecipients > 1)
                _exit(st);
            status = st;
        }
    }
    setup_user_free(&invoker);
    mail_free(&mail);
    cmdline_free(&cl);
    buf_free(&err);
    return status;
}
