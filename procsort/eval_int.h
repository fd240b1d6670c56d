/*
 * eval_int.h - what the evaluator's files (eval.c, eval_cond.c,
 * eval_run.c) share; nothing else includes it.
 */
#ifndef PROCSORT_EVAL_INT_H
#define PROCSORT_EVAL_INT_H

#include <stdio.h>
#include <sys/types.h>

#include "libmatch/buf.h"
#include "procsort/eval.h"
#include "procsort/mail.h"
#include "procsort/rc.h"
#include "procsort/rcx.h"

#define EVAL_INCLUDE_DEPTH_MAX 32   /* nested INCLUDERC files */
#define EVAL_SCORE_MAX 2147483647.0 /* procmail's MAX32: plus infinity */
#define EVAL_SCORE_MIN -2147483647.0 /* MIN32 = -MAX32: minus infinity */

/* An rc file being read, and where in it. */
struct eval_frame {
    struct rc_file *rc;
};

struct eval {
    struct mail *mail;
    unsigned long mail_gen;     /* bumped whenever the message changes */
    unsigned long framed_gen[3];
    struct buf framed[3];       /* H, B, HB subjects for procregex, cached */
    struct buf joined;          /* scratch: the joined header */
    /* procmail's state between recipes */
    int lastcond, prevcond, lastsucc;
    double lastscore;
    int last_exit;              /* $? */
    /* arguments: -a values, or what follows the rcfile with -m */
    char **args;
    int nargs;
    const char *argv0;
    /* rc files */
    struct eval_frame frames[EVAL_INCLUDE_DEPTH_MAX];
    int nframes;
    int abort_rc;               /* HOST mismatch: stop reading rc files */
    int switch_pending;         /* SWITCHRC: the current file is replaced */
    char *switch_to;            /* SWITCHRC target (NULL: stop this file) */
    int in_rcfile;              /* INCLUDERC and SWITCHRC only work inside rc files */
    const char *item_file;      /* for messages: the item being evaluated */
    int item_line;
    /* options and outcome */
    int dry_run;
    FILE *trace;
    int delivered;
    int exitcode_set;           /* EXITCODE was assigned */
    int fake_delivery;          /* DELIVERED=yes: the MTA was told it was delivered */
    char *globlock;             /* LOCKFILE held now */
    char *loclock;              /* a recipe's local lockfile held now */
    mode_t umask;
    int saved_stdout;           /* procmail's stdout, for the bare | action */
    int child_stdout;           /* where a program's stdout goes when not read: -1 /dev/null */
    long last_written;          /* bytes of the last delivery, for the log abstract */
    struct rcx_env env;
};

/* eval.c */
void eval_warn(struct eval *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void eval_trace(struct eval *ev, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void eval_expand(struct eval *ev, const char *text, size_t len, int mode, struct rcx_result *res);
void eval_mail_changed(struct eval *ev);
void eval_setenv(const char *name, const char *value);

/* eval_cond.c */
int eval_conditions(struct eval *ev, const struct rc_item *item, const int flags[RCF_COUNT], int skipping);

/* eval_run.c */
struct eval_cmd {
    struct buf words;   /* the arguments, each NUL-terminated */
    long all_args;      /* offset of a "$@" word to replace by the arguments, or -1 */
    int shell;          /* run through $SHELL $SHELLFLAGS */
    struct buf line;    /* the command as procmail logs it (and as LASTFOLDER) */
};

void eval_cmd_init(struct eval_cmd *cmd);
void eval_cmd_free(struct eval_cmd *cmd);
void eval_cmd_parse(struct eval *ev, const char *text, struct eval_cmd *cmd);
const char *eval_cmd_name(const struct eval_cmd *cmd);
int eval_cmd_run(struct eval *ev, const struct eval_cmd *cmd, const char *in, size_t inlen,
                 int raw, struct buf *out, int *status, int *write_failed);
void eval_backquote(void *ctx, const char *cmd, struct buf *out);

#endif
