/*
 * folder_name.h - the unique file names procmail makes.
 *
 *   Maildir     TIME.PID_N.HOST     (tmp/ and new/ of a Maildir)
 *   temporary   _PID S TIME.HOST    (PID and TIME in procmail's base 64,
 *                                    S one of ".,+%"; lockfile and
 *                                    MH/directory temporaries)
 *   directory   $MSGPREFIX INODE    (INODE in procmail's base 64)
 *
 * N and S come from one counter per process, reset when the clock has
 * moved on after four names; TIME is the time of the first name of the
 * current run of the counter, as procmail does.  HOST is the node name
 * with '/', ':' and '\' written as \ooo.
 *
 * folder_name_create makes a new file named PREFIX (a directory with its
 * trailing '/', or "") plus a fresh unique name (O_EXCL, RETRYunique
 * tries) and returns its descriptor, or -1 with errno.
 */
#ifndef PROCSORT_FOLDER_NAME_H
#define PROCSORT_FOLDER_NAME_H

#include <sys/types.h>

#include "libmatch/buf.h"

#define FOLDER_NAME_TRIES 8 /* procmail's RETRYunique */

#define FOLDER_NAME_MAILDIR 1 /* TIME.PID_N.HOST */
#define FOLDER_NAME_TEMP 0    /* _PID S TIME.HOST */

void folder_name_b64(struct buf *out, unsigned long val);
const char *folder_name_host(void);
void folder_name_unique(struct buf *out, int kind);
int folder_name_create(const char *prefix, int kind, mode_t mode, struct buf *path);

#endif
