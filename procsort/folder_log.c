/*
 * folder_log.c - format a diagnostic and hand it to the evaluator's log.
 *
 * See folder_log.h for the levels.  Lines can be as long as the names in
 * them: they are formatted into a growable buffer.
 */
#include <stdarg.h>

#include "libmatch/buf.h"
#include "procsort/folder_log.h"

/* folder_logf - format one log line and pass it on, if anyone listens */
void folder_logf(const struct folder_log *log, int level, const char *fmt, ...)
{
    struct buf line = BUF_INIT;
    va_list ap;

    if (log == NULL || log->fn == NULL)
        return;
    va_start(ap, fmt);
    buf_vprintf(&line, fmt, ap);
    va_end(ap);
    log->fn(log->arg, level, line.data);
    buf_free(&line);
}
