/*
 * folder_log.h - how the folder and lock modules report what they do.
 *
 * procmail writes its delivery diagnostics to $LOGFILE (or stderr) with
 * its own wording ("Forcing lock on \"x\"", "Truncated file to former
 * size", ...).  The folder and lock modules do not own the log: they hand
 * each line, in procmail's words and without the "procmail: " prefix nor
 * the newline, to the evaluator's callback, which adds its prefix and
 * decides where the line goes.  The level says when procmail prints it:
 *
 *   FOLDER_LOG_ERROR    always (procmail's nlog)
 *   FOLDER_LOG_NOTE     only when $LOGFILE is open or VERBOSE is on
 *                       ("Truncated file to former size")
 *   FOLDER_LOG_VERBOSE  only when VERBOSE is on (procmail's yell:
 *                       "Locking \"x\"", "Opening \"x\"", ...)
 *   FOLDER_LOG_LASTFOLDER  not a line: the folder procmail assigns to
 *                       LASTFOLDER at this point (the evaluator assigns
 *                       it, which VERBOSE logs, so in procmail's order)
 *
 * A NULL callback drops every line.
 */
#ifndef PROCSORT_FOLDER_LOG_H
#define PROCSORT_FOLDER_LOG_H

#define FOLDER_LOG_ERROR 0
#define FOLDER_LOG_NOTE 1
#define FOLDER_LOG_VERBOSE 2
#define FOLDER_LOG_LASTFOLDER 3

struct folder_log {
    void (*fn)(void *arg, int level, const char *line);
    void *arg;
};

void folder_logf(const struct folder_log *log, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
