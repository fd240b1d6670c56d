/*
 * msg.h - logging with fixed severities, to syslog and/or stderr.
 *
 *   msg_info   an event worth a log line (one line per decision)
 *   msg_warn   bad input from a peer or a user file; carry on
 *   msg_fatal  a broken environment; exit with the fatal status
 *   msg_panic  our own bug; abort
 *
 * libmatch itself never calls msg_fatal on bad input: it returns errors
 * with text so that the program embedding it decides.
 */
#ifndef MAILSIFT_MSG_H
#define MAILSIFT_MSG_H

#include <stdarg.h>

#define MSG_STDERR 1 /* log to stderr */
#define MSG_SYSLOG 2 /* log to syslog */

extern int msg_verbose;

void msg_open(const char *ident, int where, int facility);
void msg_set_fatal_status(int status);
void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void msg_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void msg_vlog(int priority, const char *fmt, va_list ap);

#endif
