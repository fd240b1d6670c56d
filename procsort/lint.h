/*
 * lint.h - procsort --lint: report what procmail would complain about in
 * an rc file (and what it would silently get wrong), without a message.
 */
#ifndef PROCSORT_LINT_H
#define PROCSORT_LINT_H

#include <stdio.h>

int lint_file(const char *path, FILE *out);

/* lint_file returns the number of problems written to out ("FILE, line N: ..."), -1 when unreadable. */

#endif
