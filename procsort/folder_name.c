/*
 * folder_name.c - unique file names, made as procmail makes them.
 *
 * See folder_name.h.  procmail sleeps until the next second when a fifth
 * name is wanted within one second; we let the counter go on instead
 * (PID, TIME and the counter still make the name unique), so a burst of
 * deliveries does not stall.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "libmatch/mem.h"
#include "procsort/folder_name.h"

#define SERIAL_CHARS ".,+%" /* procmail's s2c[] */
#define SERIAL_RUN 4        /* names per run of the counter */

static unsigned long name_serial = SERIAL_RUN;
static time_t name_time;
static pid_t name_pid;

/* folder_name_b64 - append val in procmail's base 64 (ultoan), low digit first */
void folder_name_b64(struct buf *out, unsigned long val)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    do {
        buf_addch(out, digits[val & 0x3f]);
        val >>= 6;
    } while (val);
}

/* folder_name_host - the node name, safe in a file name */
const char *folder_name_host(void)
{
    static char *host;
    struct utsname u;
    struct buf b = BUF_INIT;
    const char *p;

    if (host)
        return host;
    if (uname(&u) < 0)
        u.nodename[0] = 0;
    for (p = u.nodename; *p; p++) {
        if (*p == '/' || *p == ':' || *p == '\\')
            buf_printf(&b, "\\%03o", (unsigned char) *p);
        else
            buf_addch(&b, *p);
    }
    host = mem_strdup(b.data);
    buf_free(&b);
    return host;
}

/* folder_name_unique - append a fresh unique name of the given kind */
void folder_name_unique(struct buf *out, int kind)
{
    time_t now = time(NULL);
    unsigned long n;

    /* A child (a `c` copy) must not repeat its parent's names. */
    if (name_pid != getpid()) {
        name_pid = getpid();
        name_serial = SERIAL_RUN;
        name_time = 0;
    }
    if (name_serial >= SERIAL_RUN && now != name_time) {
        name_serial = 0;
        name_time = now;
    }
    n = name_serial++;
    if (kind == FOLDER_NAME_MAILDIR) {
        buf_printf(out, "%lu.%lu_%lu.%s", (unsigned long) name_time, (unsigned long) name_pid, n,
                   folder_name_host());
        return;
    }
    buf_addch(out, '_');
    folder_name_b64(out, (unsigned long) name_pid);
    if (n < SERIAL_RUN)
        buf_addch(out, SERIAL_CHARS[n]);
    else
        buf_printf(out, "%%%lu.", n);
    folder_name_b64(out, (unsigned long) name_time);
    buf_printf(out, ".%s", folder_name_host());
}

/* folder_name_create - create PREFIX UNIQUE exclusively; its descriptor, or -1 */
int folder_name_create(const char *prefix, int kind, mode_t mode, struct buf *path)
{
    int tries, fd = -1;

    for (tries = 0; tries < FOLDER_NAME_TRIES; tries++) {
        buf_reset(path);
        buf_addstr(path, prefix);
        folder_name_unique(path, kind);
        fd = open(path->data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    return fd;
}
