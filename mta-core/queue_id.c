/*
 * queue_id.c - queue ids: arrival time and inode number, Postfix long-id style.
 *
 * An id is 6 characters of seconds and 4 of microseconds in a base-51
 * alphabet without vowels (no words by accident) whose order is ASCII
 * order, so that ids of the same width sort by arrival; then 'z' (not in
 * the alphabet) and the inode number of the queue file in the same
 * alphabet.  Two files that exist at the same time never share an inode,
 * so an id is unique while its file exists.
 *
 * Trust: queue_id_ok() is the gate for ids typed by a user (mtaq): only
 * letters and digits pass, so an id can never name another path.
 */
#include <ctype.h>
#include <string.h>

#include "libmatch/msg.h"
#include "mta-core/queue.h"
#include "mta-core/queue_id.h"

static const char queue_id_alphabet[] = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxy";
#define QUEUE_ID_BASE 51

/* queue_id_digits - n base-51 digits of value, most significant first */
static void queue_id_digits(char *out, unsigned long long value, int n)
{
    while (n-- > 0) {
        out[n] = queue_id_alphabet[value % QUEUE_ID_BASE];
        value /= QUEUE_ID_BASE;
    }
}

/* queue_id_make - the id for a file with this inode created at tv */
void queue_id_make(char *id, const struct timeval *tv, ino_t inode)
{
    char tmp[QUEUE_ID_SIZE];
    unsigned long long ino = (unsigned long long) inode;
    int n = 0;

    queue_id_digits(id, (unsigned long long) tv->tv_sec, 6);
    queue_id_digits(id + 6, (unsigned long long) tv->tv_usec, 4);
    id[10] = 'z';
    do {
        tmp[n++] = queue_id_alphabet[ino % QUEUE_ID_BASE];
        ino /= QUEUE_ID_BASE;
    } while (ino > 0);
    if (11 + n >= QUEUE_ID_SIZE)
        msg_panic("queue_id_make: inode number too long for an id");
    for (int i = 0; i < n; i++)
        id[11 + i] = tmp[n - 1 - i];
    id[11 + n] = 0;
}

/* queue_id_ok - letters and digits only, 1 to QUEUE_ID_SIZE-1 of them */
int queue_id_ok(const char *id)
{
    size_t len = strlen(id);

    if (len == 0 || len >= QUEUE_ID_SIZE)
        return 0;
    for (; *id; id++)
        if (!isalnum((unsigned char) *id))
            return 0;
    return 1;
}
