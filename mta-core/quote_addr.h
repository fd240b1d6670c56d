/*
 * quote_addr.h - an address as it is written in a mail header or an SMTP
 * command: the local part quoted ("a b"@example.org) when it is not a
 * plain dot-atom, as Postfix's quote_821_local/quote_822_local do.
 *
 * Trusts: nothing; the address is internal (unquoted) form.
 */
#ifndef MAILSIFT_QUOTE_ADDR_H
#define MAILSIFT_QUOTE_ADDR_H

#include "libmatch/buf.h"

void quote_addr(struct buf *out, const char *addr);

#endif
