/*
 * engine_attach.h - where milterd's engine meets the attachment policy
 * (milterd/attach.h, owned by the attachment policy module).
 *
 * The engine spools the whole message while it streams through and, at the
 * end of the message, hands the spool's file descriptor to
 * engine_attach_judge(), which runs attach_judge() and turns its verdict into
 * what the engine needs: the strongest action, its reply text and rule, and
 * one formatted line per hit for the log and for "milterd -t".
 *
 * What it trusts: the attachment module for the verdict; nothing else.
 */
#ifndef MAILSIFT_MILTERD_ENGINE_ATTACH_H
#define MAILSIFT_MILTERD_ENGINE_ATTACH_H

#include <stddef.h>

#include "libmatch/buf.h"

/* The decision, strongest wins; the order matches attach.h's enum. */
enum engine_attach_action {
    ENGINE_ATTACH_NONE = 0,
    ENGINE_ATTACH_ACCEPT,
    ENGINE_ATTACH_WARN,
    ENGINE_ATTACH_HOLD,
    ENGINE_ATTACH_DEFER,
    ENGINE_ATTACH_DISCARD,
    ENGINE_ATTACH_REJECT,
};

struct engine_attach_result {
    enum engine_attach_action action;
    struct buf text;   /* the deciding rule's text ("" when none) */
    struct buf rule;   /* the deciding rule, FILE:LINE */
    char **hits;       /* each hit formatted (attach_hit_format) */
    enum engine_attach_action *hit_actions;
    size_t nhits;
};

struct attach_policy;

struct attach_policy *engine_attach_load(const char *path, struct buf *err);
void engine_attach_free(struct attach_policy *policy);
void engine_attach_result_init(struct engine_attach_result *result);
void engine_attach_result_free(struct engine_attach_result *result);
int engine_attach_judge(const struct attach_policy *policy, int fd, struct engine_attach_result *result,
                      struct buf *err);
const char *engine_attach_action_name(enum engine_attach_action action);

#endif
