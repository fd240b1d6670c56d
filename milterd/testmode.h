/*
 * testmode.h - "milterd -t": the whole policy applied to one message read
 * from a stream, with the verdict, the edits and the rules that fired
 * printed in the format milterd(8) promises.
 *
 * What it trusts: the policy; the message is untrusted.
 */
#ifndef MAILSIFT_MILTERD_TESTMODE_H
#define MAILSIFT_MILTERD_TESTMODE_H

#include <stdio.h>

#include "milterd/policy.h"

struct testmode_env {
    const char *sender;          /* -f, may be NULL */
    const char *const *rcpts;    /* -r, in order */
    int nrcpts;
};

int testmode_run(struct policy *policy, const struct testmode_env *env, FILE *in, FILE *out);

#endif
