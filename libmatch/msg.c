/*
 * msg.c - the log sink shared by every mailsift program.
 *
 * Lines go to stderr as "ident: severity: text" (the severity is left out
 * for info) and/or to syslog with the matching priority.  Before msg_open()
 * is called, everything goes to stderr under the name "mailsift".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "libmatch/msg.h"

int msg_verbose;

static const char *msg_ident = "mailsift";
static int msg_where = MSG_STDERR;
static int msg_fatal_status = 1;

/* msg_open - choose where log lines go */
void msg_open(const char *ident, int where, int facility)
{
    msg_ident = ident;
    msg_where = where;
    if (where & MSG_SYSLOG)
        openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

/* msg_set_fatal_status - exit status of msg_fatal (procsort wants 75) */
void msg_set_fatal_status(int status)
{
    msg_fatal_status = status;
}

static const char *msg_label(int priority)
{
    switch (priority) {
    case LOG_WARNING:
        return "warning: ";
    case LOG_ERR:
        return "fatal: ";
    case LOG_CRIT:
        return "panic: ";
    case LOG_DEBUG:
        return "debug: ";
    default:
        return "";
    }
}

/* msg_vlog - one log line at the given syslog priority */
void msg_vlog(int priority, const char *fmt, va_list ap)
{
    int saved_errno = errno;
    char line[4096];

    vsnprintf(line, sizeof(line), fmt, ap);
    if (msg_where & MSG_STDERR)
        fprintf(stderr, "%s: %s%s\n", msg_ident, msg_label(priority), line);
    if (msg_where & MSG_SYSLOG)
        syslog(priority, "%s%s", msg_label(priority), line);
    errno = saved_errno;
}

void msg_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_vlog(LOG_INFO, fmt, ap);
    va_end(ap);
}

void msg_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_vlog(LOG_WARNING, fmt, ap);
    va_end(ap);
}

/* msg_debug - logged only with msg_verbose set (-v) */
void msg_debug(const char *fmt, ...)
{
    va_list ap;

    if (!msg_verbose)
        return;
    va_start(ap, fmt);
    msg_vlog(LOG_DEBUG, fmt, ap);
    va_end(ap);
}

void msg_fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_vlog(LOG_ERR, fmt, ap);
    va_end(ap);
    exit(msg_fatal_status);
}

void msg_panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_vlog(LOG_CRIT, fmt, ap);
    va_end(ap);
    abort();
}
