/*
 * engine.c - one message through milterd's policy (see engine.h).
 *
 * The MTA hands over headers one at a time.  Each is written, as the lines
 * it was made of, into a mime_state machine, which is the one place that
 * decides what is a primary, MIME or nested header and what is body, and
 * which reports a header only when the next record shows it complete.  So
 * the header callback for header N runs while header N+1 (or the end of
 * the headers) is being written, and the engine remembers where header N
 * was (cur_pos, cur_occ, cur_name) until then.
 *
 * At the end of the headers an empty line is written: Postfix's cleanup
 * saw one there and the milter protocol hides it, so the first body record
 * is skipped on output.  Body chunks are written as they come.
 *
 * When a rule may edit MIME headers or body lines, the body as it will be
 * is written to body_out while it streams through (records are put back
 * together: a piece of a long line without a line end, a line with CR LF).
 * When an attachment policy is set, the whole message is written to
 * another spool for it.
 */
#include <ctype.h>
#include <string.h>

#include "libmatch/header.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "milterd/engine_int.h"

/* engine_spool_write - write to a spool; a failure is logged once and remembered */
static void engine_spool_write(struct engine *engine, struct spool *spool, const char *data, size_t len)
{
    if (spool == NULL || spool_failed(spool))
        return;
    buf_reset(&engine->err);
    if (spool_write(spool, data, len, &engine->err) < 0)
        msg_warn("%s: %s", engine->queue_id.len ? engine->queue_id.data : "NOQUEUE", engine->err.data);
}

/* engine_body_put - one record of the body as it will be */
static void engine_body_put(struct engine *engine, const char *text, size_t len, int line_end)
{
    engine_spool_write(engine, engine->body_out, text, len);
    if (line_end)
        engine_spool_write(engine, engine->body_out, "\r\n", 2);
}

/* engine_body_put_header - a (multi-line) header as body text */
static void engine_body_put_header(struct engine *engine, const char *text, size_t len)
{
    const char *nl;

    while ((nl = memchr(text, '\n', len)) != NULL) {
        engine_body_put(engine, text, (size_t) (nl - text), 1);
        len -= (size_t) (nl - text) + 1;
        text = nl + 1;
    }
    engine_body_put(engine, text, len, 1);
}

/* engine_record_hedit - remember an edit of the current primary header */
static void engine_record_hedit(struct engine *engine, enum engine_outcome outcome, const char *text)
{
    struct engine_hedit *e;

    if (engine->cur_occ == 0) {
        msg_warn("%s: too many different header names; cannot edit header %s",
                 engine->queue_id.len ? engine->queue_id.data : "NOQUEUE", engine->cur_name.data);
        return;
    }
    if (engine->nhedits >= ENGINE_MAX_EDITS) {
        engine->edits_dropped++;
        msg_warn("%s: more than %d header edits; header %s left alone",
                 engine->queue_id.len ? engine->queue_id.data : "NOQUEUE", ENGINE_MAX_EDITS,
                 engine->cur_name.data);
        return;
    }
    if (engine->nhedits == engine->hedits_alloc) {
        engine->hedits_alloc = engine->hedits_alloc ? 2 * engine->hedits_alloc : 8;
        engine->hedits = mem_realloc_array(engine->hedits, engine->hedits_alloc, sizeof(*engine->hedits));
    }
    e = &engine->hedits[engine->nhedits++];
    e->pos = engine->cur_pos;
    e->occ = engine->cur_occ;
    e->name = mem_strdup(engine->cur_name.data);
    e->outcome = outcome;
    e->text = text ? mem_strdup(text) : NULL;
}

/* engine_cb_header - mime_state found a whole header */
static void engine_cb_header(void *ctx, int header_class, const struct header_info *info,
                             struct buf *text, off_t offset)
{
    struct engine *engine = ctx;
    struct buf new_text = BUF_INIT;
    enum engine_outcome outcome;
    int class;

    (void) offset;
    if (info && (info->flags & HEADER_FLAG_MIME))
        class = POLICY_MIME;
    else if (header_class == MIME_HDR_PRIMARY)
        class = POLICY_HEADER;
    else if (header_class == MIME_HDR_MULTIPART)
        class = POLICY_MIME;
    else
        class = POLICY_NESTED;
    outcome = engine_check(engine, class, "header", text->data, text->len, &new_text);

    if (header_class == MIME_HDR_PRIMARY) {
        if (outcome != ENGINE_KEEP)
            engine_record_hedit(engine, outcome, new_text.data);
    } else if (engine->body_out) {
        switch (outcome) {
        case ENGINE_KEEP:
            engine_body_put_header(engine, text->data, text->len);
            break;
        case ENGINE_DROP:
            break;
        case ENGINE_REPLACE:
            engine_body_put(engine, new_text.data, new_text.len, 1);
            break;
        case ENGINE_PREPEND:
            engine_body_put(engine, new_text.data, new_text.len, 1);
            engine_body_put_header(engine, text->data, text->len);
            break;
        }
        if (outcome != ENGINE_KEEP)
            engine->body_edited = 1;
    }
    buf_free(&new_text);
}

/* engine_cb_body - mime_state found a body record */
static void engine_cb_body(void *ctx, int rec_type, const char *text, size_t len, off_t offset)
{
    struct engine *engine = ctx;
    struct buf new_text = BUF_INIT;
    enum engine_outcome outcome = ENGINE_KEEP;
    int line_end = rec_type == MIME_REC_NORM;
    long limit = engine->policy->body_checks_size_limit;

    /* The separator the MTA does not show; an empty line never matches. */
    if (engine->first_body) {
        engine->first_body = 0;
        return;
    }
    if (limit == 0 || offset < limit)
        outcome = engine_check(engine, POLICY_BODY, "body", text, len, &new_text);
    if (engine->body_out) {
        switch (outcome) {
        case ENGINE_KEEP:
            engine_body_put(engine, text, len, line_end);
            break;
        case ENGINE_DROP:
            break;
        case ENGINE_REPLACE:
            engine_body_put(engine, new_text.data, new_text.len, line_end);
            break;
        case ENGINE_PREPEND:
            engine_body_put(engine, new_text.data, new_text.len, 1);
            engine_body_put(engine, text, len, line_end);
            break;
        }
        if (outcome != ENGINE_KEEP)
            engine->body_edited = 1;
    }
    buf_free(&new_text);
}

static void engine_cb_error(void *ctx, int err, const char *text, size_t len)
{
    struct engine *engine = ctx;
    const char *dsn;

    if (err == MIME_ERR_TRUNC_HEADER)
        return; /* Postfix ignores it too */
    engine_log(engine, "reject: mime-error", mime_state_error_text(err, &dsn), text, len < 100 ? len : 100,
               NULL, NULL, NULL);
}

static const struct mime_callbacks engine_mime_cb = {
    engine_cb_header, NULL, engine_cb_body, NULL, engine_cb_error,
};

/* engine_new - a message under a policy (the engine takes a reference) */
struct engine *engine_new(struct policy *policy, const char *client)
{
    struct engine *engine = mem_zalloc(sizeof(*engine));

    policy_hold(policy);
    engine->policy = policy;
    engine->ms = mime_state_new(policy->mime_options, &policy->limits, &engine_mime_cb, engine);
    buf_init(&engine->queue_id);
    buf_init(&engine->client);
    buf_setstr(&engine->client, client && *client ? client : "unknown");
    buf_init(&engine->sender);
    buf_init(&engine->cur_name);
    buf_init(&engine->redirect);
    buf_init(&engine->line);
    buf_init(&engine->key);
    buf_init(&engine->err);
    engine->filter = 1;
    engine->first_body = 1;
    if (policy_can_edit_body(policy))
        engine->body_out = spool_new(policy->temp_directory, policy->spool_memory_limit);
    if (policy->attach)
        engine->message = spool_new(policy->temp_directory, policy->spool_memory_limit);
    action_reply_init(&engine->result.reply);
    buf_init(&engine->result.hold_reason);
    engine_attach_result_init(&engine->result.attach);
    return engine;
}

/* engine_free - release a message (NULL is fine) */
void engine_free(struct engine *engine)
{
    struct engine_result *r;
    size_t i;

    if (engine == NULL)
        return;
    r = &engine->result;
    mime_state_free(engine->ms);
    for (i = 0; i < engine->nrcpts; i++)
        mem_free(engine->rcpts[i]);
    mem_free(engine->rcpts);
    for (i = 0; i < engine->names_cap; i++)
        mem_free(engine->names[i].lname);
    mem_free(engine->names);
    for (i = 0; i < engine->nhedits; i++) {
        mem_free(engine->hedits[i].name);
        mem_free(engine->hedits[i].text);
    }
    mem_free(engine->hedits);
    for (i = 0; i < engine->nbcc; i++)
        mem_free(engine->bcc[i]);
    mem_free(engine->bcc);
    for (i = 0; i < r->nedits; i++) {
        mem_free(r->edits[i].name);
        mem_free(r->edits[i].value);
    }
    mem_free(r->edits);
    for (i = 0; i < r->nrules; i++) {
        mem_free(r->rules[i].where);
        mem_free(r->rules[i].result);
    }
    mem_free(r->rules);
    action_reply_free(&r->reply);
    buf_free(&r->hold_reason);
    engine_attach_result_free(&r->attach);
    spool_free(engine->body_out);
    spool_free(engine->message);
    buf_free(&engine->queue_id);
    buf_free(&engine->client);
    buf_free(&engine->sender);
    buf_free(&engine->cur_name);
    buf_free(&engine->redirect);
    buf_free(&engine->line);
    buf_free(&engine->key);
    buf_free(&engine->err);
    policy_release(engine->policy);
    mem_free(engine);
}

/* engine_set_queue_id - the MTA's queue id, for the logs */
void engine_set_queue_id(struct engine *engine, const char *queue_id)
{
    if (queue_id && *queue_id)
        buf_setstr(&engine->queue_id, queue_id);
}

/* engine_has_queue_id - whether the queue id is known */
int engine_has_queue_id(const struct engine *engine)
{
    return engine->queue_id.len > 0;
}

/* engine_set_sender - the envelope sender, for the logs */
void engine_set_sender(struct engine *engine, const char *sender)
{
    size_t len = strlen(sender);

    /* The MTA hands it over in angle brackets. */
    if (len >= 2 && sender[0] == '<' && sender[len - 1] == '>')
        buf_set(&engine->sender, sender + 1, len - 2);
    else
        buf_setstr(&engine->sender, sender);
}

/* engine_add_rcpt - an envelope recipient, as the MTA gave it (REDIRECT deletes it) */
void engine_add_rcpt(struct engine *engine, const char *rcpt)
{
    if (engine->nrcpts >= ENGINE_MAX_RECIPIENTS) {
        msg_warn("%s: more than %d recipients; REDIRECT will not remove %s",
                 engine->queue_id.len ? engine->queue_id.data : "NOQUEUE", ENGINE_MAX_RECIPIENTS, rcpt);
        return;
    }
    if (engine->nrcpts == engine->rcpts_alloc) {
        engine->rcpts_alloc = engine->rcpts_alloc ? 2 * engine->rcpts_alloc : 4;
        engine->rcpts = mem_realloc_array(engine->rcpts, engine->rcpts_alloc, sizeof(*engine->rcpts));
    }
    engine->rcpts[engine->nrcpts++] = mem_strdup(rcpt);
}

/* engine_name_count - count one more header of this name; its number, 0 when untracked */
static size_t engine_name_count(struct engine *engine, const char *name)
{
    size_t h = 5381, i, len = strlen(name);
    struct buf lname = BUF_INIT;
    struct engine_name *slot;

    for (i = 0; i < len; i++) {
        buf_addch(&lname, tolower((unsigned char) name[i]));
        h = h * 33 + (unsigned char) lname.data[i];
    }
    if (engine->names_count * 2 >= engine->names_cap && engine->names_count < ENGINE_MAX_HEADER_NAMES) {
        /* Grow and rehash. */
        size_t cap = engine->names_cap ? 2 * engine->names_cap : 64, j;
        struct engine_name *names = mem_array(cap, sizeof(*names));

        memset(names, 0, cap * sizeof(*names));
        for (j = 0; j < engine->names_cap; j++) {
            struct engine_name *old = &engine->names[j];
            size_t hh = 5381, k;

            if (old->lname == NULL)
                continue;
            for (k = 0; old->lname[k]; k++)
                hh = hh * 33 + (unsigned char) old->lname[k];
            for (k = hh & (cap - 1); names[k].lname; k = (k + 1) & (cap - 1))
                ;
            names[k] = *old;
        }
        mem_free(engine->names);
        engine->names = names;
        engine->names_cap = cap;
    }
    for (i = h & (engine->names_cap - 1);; i = (i + 1) & (engine->names_cap - 1)) {
        slot = &engine->names[i];
        if (slot->lname == NULL)
            break;
        if (strcmp(slot->lname, lname.data) == 0) {
            buf_free(&lname);
            return ++slot->count;
        }
    }
    if (engine->names_count >= ENGINE_MAX_HEADER_NAMES) {
        buf_free(&lname);
        return 0;
    }
    slot->lname = buf_detach(&lname, NULL);
    slot->count = 1;
    engine->names_count++;
    return 1;
}

/*
 * engine_header - one primary header as the MTA shows it: its name and
 * its value (with the space after the colon; continuation lines separated
 * by "\n").  Returns a final verdict once there is one.
 */
enum engine_verdict engine_header(struct engine *engine, const char *name, const char *value)
{
    size_t pos = engine->hdr_seen++, occ, nlen = strlen(name);
    const char *seg, *nl;

    if (engine->final || engine->eoh_done)
        return engine->final;
    occ = engine_name_count(engine, name);

    /* Only a real header label can be a header to Postfix's rules. */
    buf_reset(&engine->line);
    buf_printf(&engine->line, "%s:", name);
    if (nlen == 0 || header_label_len(engine->line.data, engine->line.len) != nlen
        || nlen + 2 > engine->policy->limits.line_length_limit) {
        msg_warn("%s: header name \"%.100s\" is not a valid header label; header not checked",
                 engine->queue_id.len ? engine->queue_id.data : "NOQUEUE", name);
        return ENGINE_CONTINUE;
    }

    /* The header's lines; a continuation line must start with white space. */
    for (seg = value;; seg = nl + 1) {
        size_t len;

        nl = strchr(seg, '\n');
        len = nl ? (size_t) (nl - seg) : strlen(seg);
        if (len > 0 && seg[len - 1] == '\r')
            len--;
        if (seg != value && (len == 0 || (seg[0] != ' ' && seg[0] != '\t')))
            buf_addch(&engine->line, ' ');
        buf_add(&engine->line, seg, len);
        buf_addch(&engine->line, '\n');
        if (nl == NULL)
            break;
    }
    /* This reports the previous header, if any. */
    mime_state_write(engine->ms, engine->line.data, engine->line.len);
    engine->cur_pos = pos;
    engine->cur_occ = occ;
    buf_setstr(&engine->cur_name, name);

    if (engine->message) {
        /* The attachment policy reads the message with CR LF line ends. */
        const char *p = engine->line.data, *end = p + engine->line.len;

        while (p < end && (nl = memchr(p, '\n', (size_t) (end - p))) != NULL) {
            engine_spool_write(engine, engine->message, p, (size_t) (nl - p));
            engine_spool_write(engine, engine->message, "\r\n", 2);
            p = nl + 1;
        }
    }
    return engine->final;
}

/* engine_eoh - the end of the primary headers */
enum engine_verdict engine_eoh(struct engine *engine)
{
    if (engine->eoh_done)
        return engine->final;
    engine->eoh_done = 1;
    if (engine->final)
        return engine->final;
    mime_state_write(engine->ms, "\n", 1);
    engine_spool_write(engine, engine->message, "\r\n", 2);
    return engine->final;
}

/* engine_body - a chunk of the body, CR LF line ends */
enum engine_verdict engine_body(struct engine *engine, const char *data, size_t len)
{
    if (!engine->eoh_done)
        engine_eoh(engine);
    if (engine->final)
        return engine->final;
    mime_state_write(engine->ms, data, len);
    engine_spool_write(engine, engine->message, data, len);
    return engine->final;
}

/* engine_eom_reject - a rejection decided at the end of the message */
static void engine_eom_reply(struct engine *engine, enum engine_verdict verdict, const char *code,
                             const char *dsn, const char *text)
{
    action_reply_set(&engine->result.reply, code, dsn, text);
    engine->final = verdict;
}

/* engine_attach - run the attachment policy on the spooled message */
static void engine_attach(struct engine *engine)
{
    struct engine_attach_result *ar = &engine->result.attach;
    struct buf err = BUF_INIT;
    const char *qid = engine->queue_id.len ? engine->queue_id.data : "NOQUEUE";
    size_t i;
    int fd, rc;

    fd = spool_fd(engine->message, &err);
    rc = fd < 0 ? -1 : engine_attach_judge(engine->policy->attach, fd, ar, &err);
    if (rc < 0) {
        msg_warn("%s: attachment policy: %s -- message not accepted, try again later", qid, err.data);
        engine_eom_reply(engine, ENGINE_DEFER, "451", "4.3.0", "Error: temporary failure");
        buf_free(&err);
        return;
    }
    buf_free(&err);
    for (i = 0; i < ar->nhits; i++)
        msg_info("%s: attachment: %s %s from %s", qid, engine_attach_action_name(ar->hit_actions[i]),
                 ar->hits[i], engine->client.data);
    switch (ar->action) {
    case ENGINE_ATTACH_REJECT:
    case ENGINE_ATTACH_DEFER: {
        struct action action;
        struct buf text = BUF_INIT, warning = BUF_INIT;
        int rc2;

        buf_printf(&text, "%s %s", ar->action == ENGINE_ATTACH_REJECT ? "REJECT" : "DEFER", ar->text.data);
        buf_trim(&text);
        action_parse(text.data, &action);
        rc2 = action_reply(&action, &engine->result.reply, &warning);
        if (warning.len)
            msg_warn("%s: %s", ar->rule.data, warning.data);
        engine->final = rc2 == 1 ? ENGINE_REJECT : ENGINE_DEFER;
        buf_free(&text);
        buf_free(&warning);
        break;
    }
    case ENGINE_ATTACH_DISCARD:
        engine->discard = 1;
        engine->final = ENGINE_DISCARD;
        break;
    case ENGINE_ATTACH_HOLD:
        if (!engine->hold) {
            engine->hold = 1;
            if (ar->text.len)
                buf_setstr(&engine->result.hold_reason, ar->text.data);
            else
                buf_printf(&engine->result.hold_reason, "held by %s", ar->rule.data);
        }
        break;
    default:
        break;
    }
}

/*
 * engine_eom - the end of the message: the verdict and edits are ready in
 * engine_result().  Returns the verdict.
 */
enum engine_verdict engine_eom(struct engine *engine)
{
    struct engine_result *r = &engine->result;
    int errs;

    if (engine->eom_done)
        return r->verdict;
    engine->eom_done = 1;
    if (!engine->final) {
        if (!engine->eoh_done)
            engine_eoh(engine);
        mime_state_close(engine->ms);
    }

    if (!engine->final) {
        /* What cleanup(8) decides at the end of the content. */
        errs = mime_state_status(engine->ms) & ~MIME_ERR_TRUNC_HEADER;
        if (errs) {
            const char *dsn, *text = mime_state_error_text(errs, &dsn);

            engine_eom_reply(engine, ENGINE_REJECT, "550", dsn, text);
        } else if (engine->lookup_error) {
            engine_eom_reply(engine, ENGINE_DEFER, "451", "4.3.0", "Error: queue file write error");
        } else if ((engine->body_out && spool_failed(engine->body_out))
                   || (engine->message && spool_failed(engine->message))) {
            engine_eom_reply(engine, ENGINE_DEFER, "451", "4.3.0", "Error: temporary failure");
        } else if (engine->message && !engine->pass) {
            engine_attach(engine);
        }
    }

    if (engine->final)
        r->verdict = engine->final;
    else if (engine->discard)
        r->verdict = ENGINE_DISCARD;
    else if (engine->hold)
        r->verdict = ENGINE_HOLD;
    else
        r->verdict = ENGINE_ACCEPT;
    if (r->verdict == ENGINE_ACCEPT || r->verdict == ENGINE_HOLD) {
        engine_build_edits(engine);
        if (engine->body_edited)
            r->body = engine->body_out;
    }
    return r->verdict;
}

/* engine_result - the verdict and edits, after engine_eom */
const struct engine_result *engine_result(const struct engine *engine)
{
    return &engine->result;
}

/* engine_reply - the reply of a REJECT or DEFER decided so far */
const struct action_reply *engine_reply(const struct engine *engine)
{
    return &engine->result.reply;
}

/* engine_verdict_name - "ACCEPT", "REJECT", ... */
const char *engine_verdict_name(enum engine_verdict verdict)
{
    static const char *const names[] = {"CONTINUE", "ACCEPT", "HOLD", "DISCARD", "DEFER", "REJECT"};

    return (unsigned) verdict < sizeof(names) / sizeof(names[0]) ? names[verdict] : "UNKNOWN";
}
