/*
 * rccheck.h - procmail's checks on an rc file before it is trusted.
 *
 * An rc file named by an absolute path (or the default $HOME/.procmailrc)
 * is read only when it is owned by the recipient or root and is not
 * writable by others; the default one must also not be writable by its
 * group, unless that group is the recipient's own (Debian builds procmail
 * so: "It may be writable by your primary group").  Its directory must
 * not be writable by others (unless sticky), and, for the default rc
 * file, not by a group other than the recipient's.  /dev/null is always
 * fine.  A file that fails is "Suspicious rcfile" and is not read.
 */
#ifndef PROCSORT_RCCHECK_H
#define PROCSORT_RCCHECK_H

#include <sys/types.h>

#define RCCHECK_ABSOLUTE 0 /* named on the command line by an absolute path */
#define RCCHECK_DEFAULT 1  /* $HOME/.procmailrc */
#define RCCHECK_CURRENT 2  /* ./name: no checks */

int rccheck(const char *path, int type, uid_t uid, gid_t gid);

/* rccheck returns 1 when the file may be read, 0 when it does not exist, -1 when suspicious. */

#endif
