/*
 * var.h - procmailrc variables.
 *
 * As in procmail, every variable lives in the environment, so that pipes,
 * filters and backquote commands see them all.  A few variables also have
 * an internal value that procmail keeps beside the environment and that
 * only changes when an assignment makes sense for it:
 *
 *   numbers  LOCKSLEEP LOCKTIMEOUT SUSPEND NORESRETRY TIMEOUT VERBOSE
 *            LOGABSTRACT: an assignment that is not a number (nor on/off,
 *            yes/no, all) keeps the old value; var_num() reads it.
 *   strings  SHELLMETAS LOCKEXT MSGPREFIX TRAP SHELLFLAGS SENDMAIL
 *            SENDMAILFLAGS DEFAULT: the last value assigned, empty once the
 *            variable is unset (procmail assigns "" then); var_str()
 *            reads it.
 *
 * This module only stores and reads; the side effects of MAILDIR, UMASK,
 * LOGFILE and the like are the evaluator's (eval.c).  Values are C
 * strings: procmail's variables cannot hold NUL bytes either.
 */
#ifndef PROCSORT_VAR_H
#define PROCSORT_VAR_H

#include <stddef.h>

const char *var_get(const char *name);
const char *var_get_or(const char *name, const char *defval);
void var_set(const char *name, const char *value);
void var_unset(const char *name);
void var_set_internal(const char *name, const char *value);
long var_num(const char *name);
const char *var_str(const char *name);
long var_parse_num(const char *text, long defval);
int var_name_char(int ch, int first);
void var_reset_internal(void);

#endif
