/*
 * testmode.c - milterd -t: hand a message to the engine as an MTA would.
 *
 * The message on the input is first taken apart the way Postfix's cleanup
 * does before it talks to a milter (libmatch/mime_state with MIME turned
 * off): logical headers with their continuation lines, "Name :" made
 * "Name:", each header cut at header_size_limit, long lines in pieces, an
 * empty line made up after headers that end without one.  Then the engine
 * gets what a milter gets: name and value per header (the value with its
 * leading space), the end of the headers, the body with CR LF line ends.
 *
 * Output (stdout), in this order:
 *   the verdict:  ACCEPT | REJECT 550 5.7.1 text | DEFER 450 4.7.1 text |
 *                 DISCARD | HOLD text
 *   the edits, in the order the MTA applies them:
 *                 +header: Name: value   (inserted)
 *                 ~header: Name: value   (changed)
 *                 -header: Name          (deleted)
 *                 +rcpt: address / -rcpt: address
 *                 body replaced
 *   attachment:   ACTION and the file, one line per attachment rule that matched
 *   rule:         FILE:LINE (table) result, one line per rule that fired
 * Edits are printed only when they take effect (ACCEPT, HOLD).
 */
#include <string.h>

#include "libmatch/header.h"
#include "libmatch/mime_state.h"
#include "libmatch/msg.h"
#include "milterd/engine.h"
#include "milterd/testmode.h"

struct testmode {
    struct engine *engine;
    int first_body;
};

/* testmode_header - a whole header, as the MTA would show it to a milter */
static void testmode_header(void *ctx, int cls, const struct header_info *info, struct buf *text, off_t off)
{
    struct testmode *tm = ctx;
    size_t label = header_label_len(text->data, text->len);
    struct buf name = BUF_INIT;

    (void) cls, (void) info, (void) off;
    buf_set(&name, text->data, label);
    /* mime_state normalized "Name :" to "Name:": the value starts after the colon. */
    engine_header(tm->engine, name.data, text->data + label + 1);
    buf_free(&name);
}

static void testmode_head_end(void *ctx)
{
    engine_eoh(((struct testmode *) ctx)->engine);
}

static void testmode_body(void *ctx, int rec_type, const char *text, size_t len, off_t off)
{
    struct testmode *tm = ctx;

    (void) off;
    if (tm->first_body) {
        /* The separator: the milter protocol does not show it. */
        tm->first_body = 0;
        return;
    }
    engine_body(tm->engine, text, len);
    if (rec_type == MIME_REC_NORM)
        engine_body(tm->engine, "\r\n", 2);
}

static const struct mime_callbacks testmode_cb = {
    testmode_header, testmode_head_end, testmode_body, NULL, NULL,
};

static void testmode_print(FILE *out, const struct engine_result *r)
{
    size_t i;

    switch (r->verdict) {
    case ENGINE_REJECT:
    case ENGINE_DEFER:
        fprintf(out, "%s %s %s%s%s\n", engine_verdict_name(r->verdict), r->reply.code, r->reply.dsn,
                r->reply.text.len ? " " : "", r->reply.text.data);
        break;
    case ENGINE_HOLD:
        fprintf(out, "HOLD%s%s\n", r->hold_reason.len ? " " : "", r->hold_reason.data);
        break;
    default:
        fprintf(out, "%s\n", engine_verdict_name(r->verdict));
        break;
    }
    for (i = 0; i < r->nedits; i++) {
        const struct engine_edit *e = &r->edits[i];

        switch (e->type) {
        case ENGINE_INSHEADER:
            fprintf(out, "+header: %s:%s\n", e->name, e->value);
            break;
        case ENGINE_CHGHEADER:
            if (e->value)
                fprintf(out, "~header: %s:%s\n", e->name, e->value);
            else
                fprintf(out, "-header: %s\n", e->name);
            break;
        case ENGINE_ADDRCPT:
            fprintf(out, "+rcpt: %s\n", e->name);
            break;
        case ENGINE_DELRCPT: {
            /* As given on the MTA's RCPT command, usually in angle brackets: shown without. */
            size_t len = strlen(e->name);

            if (len >= 2 && e->name[0] == '<' && e->name[len - 1] == '>')
                fprintf(out, "-rcpt: %.*s\n", (int) (len - 2), e->name + 1);
            else
                fprintf(out, "-rcpt: %s\n", e->name);
            break;
        }
        }
    }
    if (r->body)
        fprintf(out, "body replaced\n");
    for (i = 0; i < r->attach.nhits; i++)
        fprintf(out, "attachment: %s %s\n", engine_attach_action_name(r->attach.hit_actions[i]), r->attach.hits[i]);
    for (i = 0; i < r->nrules; i++)
        fprintf(out, "rule: %s (%s) %s\n", r->rules[i].where, policy_class_names[r->rules[i].class],
                r->rules[i].result);
    if (r->rules_dropped)
        fprintf(out, "rule: ... and %zu more\n", r->rules_dropped);
}

/*
 * testmode_run - apply the policy to the message in "in" and print the
 * result to "out".  Returns 0, or -1 when the input or output failed.
 */
int testmode_run(struct policy *policy, const struct testmode_env *env, FILE *in, FILE *out)
{
    struct testmode tm;
    struct mime_state *ms;
    char chunk[65536];
    size_t n;
    int i, status = 0;

    tm.engine = engine_new(policy, "stdin");
    tm.first_body = 1;
    if (env->sender)
        engine_set_sender(tm.engine, env->sender);
    for (i = 0; i < env->nrcpts; i++)
        engine_add_rcpt(tm.engine, env->rcpts[i]);
    ms = mime_state_new(MIME_OPT_DISABLE_MIME, &policy->limits, &testmode_cb, &tm);
    while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
        mime_state_write(ms, chunk, n);
    if (ferror(in)) {
        msg_warn("read message: %m");
        status = -1;
    }
    mime_state_close(ms);
    mime_state_free(ms);
    engine_eom(tm.engine);
    if (status == 0)
        testmode_print(out, engine_result(tm.engine));
    engine_free(tm.engine);
    if (fflush(out) != 0 || ferror(out)) {
        msg_warn("write result: %m");
        status = -1;
    }
    return status;
}
