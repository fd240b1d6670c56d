/*
 * policy.h - everything milterd decides with, as one immutable object.
 *
 * A policy holds the four tables, the attachment policy and the limits.
 * It is built whole from a configuration (policy_load) and never changed
 * afterwards, so the libmilter threads share it without locks.  The daemon
 * keeps one current policy; each message takes a reference to it when it
 * starts (policy_current) and drops it when it ends (policy_release).  A
 * reload builds a new policy and swaps it in (policy_install): messages
 * under way finish with the policy they started with, and the old policy
 * is freed when its last message lets go.
 *
 * What it trusts: the configuration and table files are the
 * administrator's; every problem in them is reported with its file and
 * line, never fatal here (the caller decides).
 */
#ifndef MAILSIFT_MILTERD_POLICY_H
#define MAILSIFT_MILTERD_POLICY_H

#include <stddef.h>

#include "libmatch/buf.h"
#include "libmatch/config.h"
#include "libmatch/mime_state.h"
#include "libmatch/table.h"

/* The tables, in the order Postfix applies them. */
enum policy_class {
    POLICY_HEADER = 0, /* header_checks */
    POLICY_MIME,       /* mime_header_checks */
    POLICY_NESTED,     /* nested_header_checks */
    POLICY_BODY,       /* body_checks */
    POLICY_NCLASSES
};

struct attach_policy;

struct policy {
    int refs;                              /* atomic: holders of this policy */
    unsigned long generation;              /* 1 at start, +1 per reload */
    struct table *tables[POLICY_NCLASSES]; /* NULL when a class has no table */
    char *specs[POLICY_NCLASSES];          /* as configured, for the logs */
    struct attach_policy *attach;          /* NULL without attachment_policy */
    char *attach_path;
    struct mime_limits limits;
    int mime_options;                      /* MIME_OPT_* for mime_state */
    long body_checks_size_limit;           /* 0: no limit */
    int header_insert_offset;              /* headers the MTA hides above the first one */
    char *temp_directory;
    size_t spool_memory_limit;
};

extern const char *const policy_class_names[POLICY_NCLASSES];

struct policy *policy_load(struct config *cfg, struct buf *err);
void policy_hold(struct policy *policy);
void policy_release(struct policy *policy);
void policy_install(struct policy *policy);
struct policy *policy_current(void);
int policy_can_edit_body(const struct policy *policy);

#endif
