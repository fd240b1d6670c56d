/*
 * maps_addr.c - IP addresses and network blocks for match lists and
 * per-client limits: "1.2.3.4", "2001:db8::1", "[2001:db8::1]", and blocks
 * "1.2.3.0/24", "[2001:db8::]/32", "2001:db8::/32".
 *
 * Trusts: nothing; inet_pton does the parsing, lengths are checked first.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "mta-core/maps_lookup.h"

/* maps_addr_parse - an address, with or without [], into addr; 0 when it is none */
int maps_addr_parse(const char *text, size_t len, struct maps_addr *addr)
{
    char tmp[INET6_ADDRSTRLEN + 1];

    if (len >= 2 && text[0] == '[' && text[len - 1] == ']')
        text++, len -= 2;
    if (len == 0 || len >= sizeof(tmp))
        return 0;
    memcpy(tmp, text, len);
    tmp[len] = 0;
    memset(addr, 0, sizeof(*addr));
    if (inet_pton(AF_INET, tmp, addr->bytes) == 1) {
        addr->family = AF_INET;
        return 1;
    }
    if (strchr(tmp, ':') && inet_pton(AF_INET6, tmp, addr->bytes) == 1) {
        addr->family = AF_INET6;
        return 1;
    }
    return 0;
}

/*
 * maps_block_parse - "net/bits" or a single address (all bits); 1 when it
 * is one, 0 when the text is not an address at all, -1 (why set) when it
 * looks like one but is wrong (bad length, host bits set).
 */
int maps_block_parse(const char *text, struct maps_addr *net, int *bits, const char **why)
{
    const char *slash = strchr(text, '/');
    int max, i;

    if (!maps_addr_parse(text, slash ? (size_t) (slash - text) : strlen(text), net))
        return 0;
    max = net->family == AF_INET ? 32 : 128;
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);

        if (end == slash + 1 || *end || b < 0 || b > max) {
            *why = "bad mask length";
            return -1;
        }
        *bits = (int) b;
    } else {
        *bits = max;
    }
    for (i = *bits; i < max; i++)
        if (net->bytes[i / 8] & (0x80 >> (i % 8))) {
            *why = "non-null host address bits";
            return -1;
        }
    return 1;
}

/* maps_addr_in_block - is addr inside net/bits (same family only)? */
int maps_addr_in_block(const struct maps_addr *addr, const struct maps_addr *net, int bits)
{
    int full = bits / 8, rest = bits % 8;

    if (addr->family != net->family)
        return 0;
    if (memcmp(addr->bytes, net->bytes, (size_t) full) != 0)
        return 0;
    return rest == 0 || ((addr->bytes[full] ^ net->bytes[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/*
 * maps_addr_unmap - "::ffff:1.2.3.4" becomes "1.2.3.4" in place: a client
 * on an IPv6 socket that is really IPv4 is an IPv4 client (as in Postfix).
 */
void maps_addr_unmap(char *text)
{
    struct maps_addr a;

    if (strncasecmp(text, "::ffff:", 7) == 0 && strchr(text + 7, '.')
        && maps_addr_parse(text + 7, strlen(text + 7), &a) && a.family == AF_INET)
        memmove(text, text + 7, strlen(text + 7) + 1);
}
