/*
 * lline.h - read one logical line of a Postfix-style text file.
 *
 * Used for tables, milterd.conf, mta-core.conf and maps alike.
 */
#ifndef MAILSIFT_LLINE_H
#define MAILSIFT_LLINE_H

#include <stdio.h>

#include "libmatch/buf.h"

int lline_read(FILE *fp, const char *path, struct buf *line, int *lineno, int *first_line);

#endif
