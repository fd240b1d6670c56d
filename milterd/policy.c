/*
 * policy.c - build, share and swap milterd's policy (see policy.h).
 *
 * mime_header_checks and nested_header_checks default to $header_checks,
 * as in Postfix; when two classes name the same tables they share one
 * opened table.  The MIME options follow cleanup(8): nesting errors are
 * reported (and so reject the message) when any header table is set, the
 * strict_* parameters turn on the 8-bit and encoding checks, and
 * disable_mime_input_processing makes everything after the primary
 * headers body text.
 */
#include <pthread.h>
#include <string.h>

#include "libmatch/mem.h"
#include "milterd/engine_attach.h"
#include "milterd/policy.h"

const char *const policy_class_names[POLICY_NCLASSES] = {
    "header_checks", "mime_header_checks", "nested_header_checks", "body_checks",
};

static pthread_mutex_t policy_lock = PTHREAD_MUTEX_INITIALIZER;
static struct policy *policy_now;
static unsigned long policy_generation;

static void policy_free(struct policy *policy)
{
    int i, j;

    for (i = 0; i < POLICY_NCLASSES; i++) {
        if (policy->tables[i] != NULL) {
            /* Shared tables are freed once. */
            for (j = i + 1; j < POLICY_NCLASSES; j++)
                if (policy->tables[j] == policy->tables[i])
                    policy->tables[j] = NULL;
            table_free(policy->tables[i]);
        }
        mem_free(policy->specs[i]);
    }
    if (policy->attach)
        engine_attach_free(policy->attach);
    mem_free(policy->attach_path);
    mem_free(policy->temp_directory);
    mem_free(policy);
}

/* policy_get_int - a numeric parameter, with its name in the error */
static int policy_get_long(struct config *cfg, const char *name, long min, long max, long *value,
                           struct buf *err)
{
    if (config_get_int(cfg, name, min, max, value, err) < 0) {
        buf_addch(err, '\n');
        return -1;
    }
    return 0;
}

static int policy_get_bool(struct config *cfg, const char *name, int *value, struct buf *err)
{
    if (config_get_bool(cfg, name, value, err) < 0) {
        buf_addch(err, '\n');
        return -1;
    }
    return 0;
}

/*
 * policy_load - a new policy from a configuration.  NULL with every
 * problem in err (one per line) when anything is wrong.
 */
struct policy *policy_load(struct config *cfg, struct buf *err)
{
    struct policy *policy = mem_zalloc(sizeof(*policy));
    long v;
    int i, j, flag, status = 0;
    const char *s;

    /* Limits and options first: they are cheap to check. */
    status |= policy_get_long(cfg, "line_length_limit", 40, 1 << 20, &v, err);
    policy->limits.line_length_limit = (size_t) v;
    status |= policy_get_long(cfg, "header_size_limit", 40, 64L << 20, &v, err);
    policy->limits.header_size_limit = (size_t) v;
    status |= policy_get_long(cfg, "mime_boundary_length_limit", 1, 1 << 20, &v, err);
    policy->limits.mime_boundary_length_limit = (size_t) v;
    status |= policy_get_long(cfg, "mime_nesting_limit", 1, 10000, &v, err);
    policy->limits.mime_nesting_limit = (int) v;
    status |= policy_get_long(cfg, "body_checks_size_limit", 0, 1L << 40, &policy->body_checks_size_limit, err);
    status |= policy_get_long(cfg, "header_insert_offset", 0, 1000, &v, err);
    policy->header_insert_offset = (int) v;
    status |= policy_get_long(cfg, "spool_memory_limit", 0, 1L << 30, &v, err);
    policy->spool_memory_limit = (size_t) v;
    policy->temp_directory = mem_strdup(config_get(cfg, "temp_directory"));

    status |= policy_get_bool(cfg, "disable_mime_input_processing", &flag, err);
    if (flag)
        policy->mime_options |= MIME_OPT_DISABLE_MIME;
    status |= policy_get_bool(cfg, "strict_8bitmime", &flag, err);
    if (flag)
        policy->mime_options |= MIME_OPT_REPORT_8BIT_IN_HEADER | MIME_OPT_REPORT_8BIT_IN_7BIT_BODY;
    status |= policy_get_bool(cfg, "strict_7bit_headers", &flag, err);
    if (flag)
        policy->mime_options |= MIME_OPT_REPORT_8BIT_IN_HEADER;
    status |= policy_get_bool(cfg, "strict_8bitmime_body", &flag, err);
    if (flag)
        policy->mime_options |= MIME_OPT_REPORT_8BIT_IN_7BIT_BODY;
    status |= policy_get_bool(cfg, "strict_mime_encoding_domain", &flag, err);
    if (flag)
        policy->mime_options |= MIME_OPT_REPORT_ENCODING_DOMAIN;
    if (status) {
        if (err->len && err->data[err->len - 1] == '\n')
            buf_truncate(err, err->len - 1);
        policy_free(policy);
        return NULL;
    }

    /* The tables; a class naming the same tables as an earlier one shares them. */
    for (i = 0; i < POLICY_NCLASSES; i++) {
        struct buf spec = BUF_INIT;
        int same = 0;

        buf_setstr(&spec, config_get(cfg, policy_class_names[i]));
        buf_trim(&spec);
        policy->specs[i] = buf_detach(&spec, NULL);
        if (*policy->specs[i] == 0)
            continue;
        for (j = 0; j < i && !same; j++) {
            if (strcmp(policy->specs[j], policy->specs[i]) == 0) {
                policy->tables[i] = policy->tables[j];
                same = 1; /* shared; a failure was reported once */
            }
        }
        if (!same) {
            struct buf terr = BUF_INIT;

            policy->tables[i] = table_open(policy->specs[i], 0, &terr);
            if (policy->tables[i] == NULL) {
                if (err->len)
                    buf_addch(err, '\n');
                buf_printf(err, "%s: %s", policy_class_names[i], terr.data);
                status = -1;
            }
            buf_free(&terr);
        }
    }
    if (policy->tables[POLICY_HEADER] || policy->tables[POLICY_MIME] || policy->tables[POLICY_NESTED])
        policy->mime_options |= MIME_OPT_REPORT_NESTING;
    if (policy->mime_options & (MIME_OPT_REPORT_8BIT_IN_HEADER | MIME_OPT_REPORT_8BIT_IN_7BIT_BODY
                                | MIME_OPT_REPORT_ENCODING_DOMAIN))
        policy->mime_options |= MIME_OPT_REPORT_NESTING;

    s = config_get(cfg, "attachment_policy");
    if (s && *s) {
        struct buf aerr = BUF_INIT;

        policy->attach_path = mem_strdup(s);
        policy->attach = engine_attach_load(policy->attach_path, &aerr);
        if (policy->attach == NULL) {
            if (err->len)
                buf_addch(err, '\n');
            buf_printf(err, "attachment_policy: %s", aerr.data);
            status = -1;
        }
        buf_free(&aerr);
    }

    if (status < 0) {
        policy_free(policy);
        return NULL;
    }
    policy->refs = 1;
    return policy;
}

/* policy_hold - one more holder */
void policy_hold(struct policy *policy)
{
    __atomic_add_fetch(&policy->refs, 1, __ATOMIC_ACQ_REL);
}

/* policy_release - one holder less; the last one frees it */
void policy_release(struct policy *policy)
{
    if (policy && __atomic_sub_fetch(&policy->refs, 1, __ATOMIC_ACQ_REL) == 0)
        policy_free(policy);
}

/* policy_install - make policy the current one (taking over the caller's reference) */
void policy_install(struct policy *policy)
{
    struct policy *old;

    pthread_mutex_lock(&policy_lock);
    old = policy_now;
    policy->generation = ++policy_generation;
    policy_now = policy;
    pthread_mutex_unlock(&policy_lock);
    policy_release(old);
}

/* policy_current - a reference to the current policy (NULL before the first install) */
struct policy *policy_current(void)
{
    struct policy *policy;

    pthread_mutex_lock(&policy_lock);
    policy = policy_now;
    if (policy)
        policy_hold(policy);
    pthread_mutex_unlock(&policy_lock);
    return policy;
}

/* policy_can_edit_body - whether a rule could change the body (MIME headers, body lines) */
int policy_can_edit_body(const struct policy *policy)
{
    return policy->tables[POLICY_MIME] || policy->tables[POLICY_NESTED] || policy->tables[POLICY_BODY];
}
