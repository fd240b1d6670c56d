/*
 * eval.h - run procmailrc files against one message, as procmail does.
 *
 * The evaluator walks the items rc.c read, in order, keeping procmail's
 * state between recipes (the last condition's outcome for A/a/E/e, the
 * last delivery's success, the last score $=, the last exit code $?),
 * expands words when it reaches them, runs conditions, filters, pipes,
 * forwards and backquotes, assigns variables with their side effects,
 * and hands folder deliveries to folder.c.  A delivering recipe without
 * `c` ends the evaluation; so does the end of the last rc file, after
 * which the caller delivers to $DEFAULT.
 *
 * With dry_run (procsort -n) nothing is delivered and no program is run
 * (backquotes give nothing, `?` conditions do not match); every condition
 * and every decision is written to the trace with its file and line, and
 * evaluation goes on past what would have been the delivery.
 */
#ifndef PROCSORT_EVAL_H
#define PROCSORT_EVAL_H

#include <stdio.h>

#include "procsort/mail.h"

struct eval;

/* How a run of the rc files ended. */
#define EVAL_END 0        /* fell off the end: deliver to DEFAULT */
#define EVAL_DELIVERED 1  /* a recipe delivered (or DELIVERED=yes, or HOST mismatch handled) */
#define EVAL_ABORT 2      /* HOST mismatch before any rc file: exit 0 without delivering */

struct eval *eval_new(struct mail *mail);
void eval_free(struct eval *ev);
void eval_set_args(struct eval *ev, char **args, int nargs);
void eval_set_dry_run(struct eval *ev, FILE *trace);
void eval_set_argv0(struct eval *ev, const char *argv0);
long eval_last_written(const struct eval *ev);
int eval_fake_delivery(const struct eval *ev);
void eval_assign(struct eval *ev, const char *name, const char *value);
void eval_assign_text(struct eval *ev, const char *assignment);
int eval_rcfile(struct eval *ev, const char *path, int checked);
int eval_deliver_default(struct eval *ev);
int eval_exit_code(struct eval *ev, int status);
void eval_run_trap(struct eval *ev);

#endif
