/*
 * plog.h - procsort's log, as procmail keeps it.
 *
 * Lines go to $LOGFILE when it is set and can be opened, else to stderr;
 * errors look like procmail's ("procsort: Error while writing to \"x\"").
 * Verbose diagnostics (VERBOSE=on, -v) go to the same place.  The log
 * abstract (From_, Subject, Folder lines) is written by plog_abstract.
 */
#ifndef PROCSORT_PLOG_H
#define PROCSORT_PLOG_H

#include <stddef.h>

struct mail;

int plog_open(const char *path);
void plog_close(void);
void plog_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void plog_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void plog_raw(const char *text, size_t len);
void plog_abstract(const struct mail *mail, const char *folder, long written);
void plog_set_verbose(int on);
int plog_is_verbose(void);

#endif
