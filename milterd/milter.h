/*
 * milter.h - milterd's libmilter callbacks: the milter protocol on one
 * side, the engine on the other.
 *
 * What it trusts: libmilter for the protocol; the MTA's data (client,
 * envelope, headers, body) is untrusted and goes to the engine as such.
 */
#ifndef MAILSIFT_MILTERD_MILTER_H
#define MAILSIFT_MILTERD_MILTER_H

#include <libmilter/mfapi.h>

extern struct smfiDesc mfilter_desc;

int mfilter_busy(void);
void mfilter_stop_new(void);

#endif
