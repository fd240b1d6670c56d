/*
 * engine_attach.c - run the attachment policy (milterd/attach.h) for the
 * engine, and put its verdict in the engine's terms.
 */
#include <string.h>

#include "libmatch/mem.h"
#include "milterd/engine_attach.h"

#include "milterd/attach.h"

/* engine_attach_result_init - no decision yet */
void engine_attach_result_init(struct engine_attach_result *result)
{
    result->action = ENGINE_ATTACH_NONE;
    buf_init(&result->text);
    buf_init(&result->rule);
    result->hits = NULL;
    result->hit_actions = NULL;
    result->nhits = 0;
}

/* engine_attach_result_free - release a result */
void engine_attach_result_free(struct engine_attach_result *result)
{
    buf_free(&result->text);
    buf_free(&result->rule);
    size_t i;

    for (i = 0; i < result->nhits; i++)
        mem_free(result->hits[i]);
    mem_free(result->hits);
    mem_free(result->hit_actions);
}

/* engine_attach_action_name - "REJECT", "HOLD", ... */
const char *engine_attach_action_name(enum engine_attach_action action)
{
    static const char *const names[] = {"NONE", "ACCEPT", "WARN", "HOLD", "DEFER", "DISCARD", "REJECT"};

    return (unsigned) action < sizeof(names) / sizeof(names[0]) ? names[action] : "UNKNOWN";
}

/* engine_attach_load - read an attachment policy file */
struct attach_policy *engine_attach_load(const char *path, struct buf *err)
{
    return attach_policy_load(path, err);
}

/* engine_attach_free - release it */
void engine_attach_free(struct attach_policy *policy)
{
    attach_policy_free(policy);
}

/* engine_attach_judge - judge the message in fd; 1 decided, 0 no rule, -1 error */
int engine_attach_judge(const struct attach_policy *policy, int fd, struct engine_attach_result *result,
                      struct buf *err)
{
    struct attach_verdict verdict;
    size_t i;
    int rc;

    attach_verdict_init(&verdict);
    rc = attach_judge(policy, fd, &verdict, err);
    if (rc > 0) {
        result->action = (enum engine_attach_action) verdict.action;
        if (verdict.hit) {
            buf_setstr(&result->text, verdict.hit->text.data);
            buf_setstr(&result->rule, verdict.hit->rule.data);
        }
        result->hits = mem_array(verdict.nhits ? verdict.nhits : 1, sizeof(*result->hits));
        result->hit_actions = mem_array(verdict.nhits ? verdict.nhits : 1, sizeof(*result->hit_actions));
        for (i = 0; i < verdict.nhits; i++) {
            struct buf line = BUF_INIT;

            attach_hit_format(&verdict.hits[i], &line);
            result->hits[i] = buf_detach(&line, NULL);
            result->hit_actions[i] = (enum engine_attach_action) verdict.hits[i].action;
        }
        result->nhits = verdict.nhits;
    }
    attach_verdict_free(&verdict);
    return rc;
}
