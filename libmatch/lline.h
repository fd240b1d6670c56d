/*
 * lline.h - read one logical line of a Postfix-style text file.
 *
 * Used for tables, milterd.conf, mta-core.conf and maps alike.
 */
#ifndef MAILSIFT_LLINE_H
#define MAILSIFT_LLINE_H

#include <stdio.h>

#include "libmatch/buf.h"

/* Problems lline_read finds in a file, for a caller that reports them itself. */
#define LLINE_LEADING_SPACE 1 /* text before any logical line: skipped */
#define LLINE_NUL_BYTE 2      /* a NUL byte in the line: kept, callers may truncate */

typedef void (*lline_complain_fn)(void *context, int problem, int line, const char *text);

int lline_read(FILE *fp, const char *path, struct buf *line, int *lineno, int *first_line,
               lline_complain_fn complain, void *context);

#endif
