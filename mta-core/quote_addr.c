/*
 * quote_addr.c - quote an address's local part where RFC 5321/5322 want
 * it (see quote_addr.h).  A local part is plain when it is empty or a
 * dot-atom: no specials, no control characters or blanks, no dot at
 * either end, no two dots in a row (8-bit bytes count as plain, for
 * SMTPUTF8).  One that is already in quotes is left as it is.
 *
 * Trusts: nothing.
 */
#include <string.h>

#include "mta-core/quote_addr.h"

#define QUOTE_SPECIALS "()<>@,;:\\\"[]"

/* quote_addr - append addr to out, its local part quoted when needed */
void quote_addr(struct buf *out, const char *addr)
{
    const char *at = strrchr(addr, '@');
    size_t llen = at ? (size_t) (at - addr) : strlen(addr), i;
    int plain = llen == 0 || (addr[0] != '.' && addr[llen - 1] != '.');

    for (i = 0; plain && i < llen; i++) {
        unsigned char c = (unsigned char) addr[i];

        if (c <= ' ' || c == 0x7f || strchr(QUOTE_SPECIALS, c) || (c == '.' && addr[i + 1] == '.'))
            plain = 0;
    }
    if (plain || (addr[0] == '"' && llen > 1 && addr[llen - 1] == '"')) {
        buf_addstr(out, addr);
        return;
    }
    buf_addch(out, '"');
    for (i = 0; i < llen; i++) {
        if (addr[i] == '"' || addr[i] == '\\')
            buf_addch(out, '\\');
        buf_addch(out, addr[i]);
    }
    buf_addch(out, '"');
    if (at)
        buf_addstr(out, at);
}
