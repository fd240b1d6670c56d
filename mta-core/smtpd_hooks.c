/*
 * smtpd_hooks.c - the hook registry and the per-session chain runner.
 *
 * The runner walks the hooks of a session in order for one event.  A hook
 * that answers inside event() is handled in the same loop; one that answers
 * later resumes the walk from smtpd_hook_done().  Either way the session's
 * done() callback runs exactly once per smtpd_chain_run().
 *
 * Trusts: hooks to call smtpd_hook_done() once per event() and never after
 * close(); a reply text that does not fit the action is replaced by the
 * default and logged, never passed to the client.
 */
#include <ctype.h>
#include <string.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/smtpd_hooks.h"

#define SMTPD_HOOKS_MAX 64 /* hooks in the chain (a milter each, plus the policy) */

struct smtpd_hook {
    const struct smtpd_hook_ops *ops;
    void *arg;
};

static struct smtpd_hook smtpd_hooks[SMTPD_HOOKS_MAX];
static size_t smtpd_hook_count;

/* One pending call; there is at most one per chain at any time. */
struct smtpd_hook_call {
    struct smtpd_hook_chain *chain;
    int answered;
    struct smtpd_verdict verdict;
    struct buf reply;
    struct buf rule;
};

struct smtpd_hook_chain {
    const struct smtpd_client *client;
    void **state;               /* per hook */
    size_t next;                /* the hook being asked */
    int busy;                   /* a run is under way */
    int in_event;               /* inside a hook's event() */
    const struct smtpd_event *ev;
    smtpd_chain_fn done;
    void *ctx;
    struct smtpd_hook_call call;
    struct buf reply;           /* the deciding reply, as handed to done() */
    /* A refused RCPT being shown to the later hooks that want to see it. */
    int showing_rejected;
    struct smtpd_event rej_ev;  /* the event, with .rejected set */
    struct smtpd_verdict rej_verdict; /* the refusal that stands */
    struct buf rej_rule;
    const char *rej_label;
};

/* smtpd_hooks_register - add a hook at the end of the chain (start-up only) */
void smtpd_hooks_register(const struct smtpd_hook_ops *ops, void *hook_arg)
{
    if (smtpd_hook_count >= SMTPD_HOOKS_MAX)
        msg_fatal("too many smtpd hooks (limit %d): fewer smtpd_milters, please", SMTPD_HOOKS_MAX);
    smtpd_hooks[smtpd_hook_count].ops = ops;
    smtpd_hooks[smtpd_hook_count].arg = hook_arg;
    smtpd_hook_count++;
}

/* smtpd_hooks_reset - forget every hook (tests, and a full reconfiguration) */
void smtpd_hooks_reset(void)
{
    smtpd_hook_count = 0;
}

/* smtpd_stage_name - "CONNECT", "RCPT", "END-OF-MESSAGE", ... for log lines */
const char *smtpd_stage_name(enum smtpd_stage stage)
{
    static const char *const names[SMTPD_STAGE_COUNT] = {
        [SMTPD_STAGE_CONNECT] = "CONNECT",
        [SMTPD_STAGE_HELO] = "HELO",
        [SMTPD_STAGE_MAIL] = "MAIL",
        [SMTPD_STAGE_RCPT] = "RCPT",
        [SMTPD_STAGE_DATA] = "DATA",
        [SMTPD_STAGE_HEADER] = "HEADER",
        [SMTPD_STAGE_EOH] = "END-OF-HEADERS",
        [SMTPD_STAGE_BODY] = "BODY",
        [SMTPD_STAGE_EOM] = "END-OF-MESSAGE",
        [SMTPD_STAGE_ABORT] = "ABORT",
        [SMTPD_STAGE_UNKNOWN] = "UNKNOWN",
    };

    if ((unsigned) stage >= SMTPD_STAGE_COUNT)
        msg_panic("smtpd_stage_name: bad stage %d", (int) stage);
    return names[stage];
}

/* smtpd_chain_open - the hooks' per-session states, in registration order */
struct smtpd_hook_chain *smtpd_chain_open(const struct smtpd_client *client)
{
    struct smtpd_hook_chain *chain = mem_zalloc(sizeof(*chain));
    size_t i;

    chain->client = client;
    chain->state = mem_array(smtpd_hook_count ? smtpd_hook_count : 1, sizeof(void *));
    for (i = 0; i < smtpd_hook_count; i++)
        chain->state[i] = smtpd_hooks[i].ops->open ?
            smtpd_hooks[i].ops->open(smtpd_hooks[i].arg, client) : NULL;
    chain->call.chain = chain;
    buf_init(&chain->call.reply);
    buf_init(&chain->call.rule);
    buf_init(&chain->reply);
    buf_init(&chain->rej_rule);
    return chain;
}

/* smtpd_chain_close - the session is over: close every hook (cancelling a pending call) */
void smtpd_chain_close(struct smtpd_hook_chain *chain)
{
    size_t i;

    if (chain == NULL)
        return;
    for (i = 0; i < smtpd_hook_count; i++)
        if (smtpd_hooks[i].ops->close)
            smtpd_hooks[i].ops->close(chain->state[i]);
    mem_free(chain->state);
    buf_free(&chain->call.reply);
    buf_free(&chain->call.rule);
    buf_free(&chain->reply);
    buf_free(&chain->rej_rule);
    mem_free(chain);
}

/* smtpd_chain_busy - a hook has not answered yet */
int smtpd_chain_busy(const struct smtpd_hook_chain *chain)
{
    return chain->busy;
}

/*
 * smtpd_reply_fits - a reply is one or more lines "ddd text" / "ddd-text"
 * joined by CRLF, all with the same code, whose first digit is want, with
 * no control characters in the text.
 */
static int smtpd_reply_fits(const char *reply, char want)
{
    const char *p = reply;

    if (p[0] != want)
        return 0;
    for (;;) {
        if (!isdigit((unsigned char) p[0]) || !isdigit((unsigned char) p[1])
            || !isdigit((unsigned char) p[2]) || strncmp(p, reply, 3) != 0)
            return 0;
        p += 3;
        if (*p == '-') {
            p++;
            while (*p && *p != '\r' && (unsigned char) *p >= ' ' && *p != 0x7f)
                p++;
            if (p[0] != '\r' || p[1] != '\n')
                return 0;
            p += 2;
            continue;
        }
        if (*p != ' ' && *p != 0)
            return 0;
        while (*p && (unsigned char) *p >= ' ' && *p != 0x7f)
            p++;
        return *p == 0;
    }
}

/* smtpd_chain_default - the reply for an action without (a usable) text */
static void smtpd_chain_default(struct smtpd_hook_chain *chain, enum smtpd_action action)
{
    buf_reset(&chain->reply);
    switch (action) {
    case SMTPD_REJECT:
        buf_addstr(&chain->reply, "550 5.7.1 Command rejected");
        break;
    case SMTPD_TEMPFAIL:
        buf_addstr(&chain->reply, "451 4.7.1 Service unavailable - try again later");
        break;
    case SMTPD_SHUTDOWN:
        buf_printf(&chain->reply, "421 4.7.0 %s Server closing connection",
                   chain->client->myhostname);
        break;
    default:
        break;
    }
}

/*
 * smtpd_chain_settle - the deciding verdict with a reply that fits its
 * action (the default when the hook gave none or a bad one) in
 * chain->reply.
 */
static void smtpd_chain_settle(struct smtpd_hook_chain *chain, struct smtpd_verdict *out,
                               const char *label)
{
    char want = 0;

    if (out->action == SMTPD_DISCARD && chain->ev->stage <= SMTPD_STAGE_HELO) {
        msg_warn("%s: DISCARD at %s is not possible; taken as TEMPFAIL",
                 *label ? label : "policy", smtpd_stage_name(chain->ev->stage));
        out->action = SMTPD_TEMPFAIL;
        out->reply = NULL;
    }
    if (out->action == SMTPD_REJECT)
        want = '5';
    else if (out->action == SMTPD_TEMPFAIL || out->action == SMTPD_SHUTDOWN)
        want = '4';
    if (want && out->reply && !smtpd_reply_fits(out->reply, want)) {
        struct buf shown = BUF_INIT;
        const char *p;

        /* The text is the hook's: show control characters, never pass them to the log. */
        for (p = out->reply; *p && shown.len < 200; p++) {
            if ((unsigned char) *p < ' ' || *p == 0x7f)
                buf_printf(&shown, "\\x%02x", (unsigned char) *p);
            else
                buf_addch(&shown, *p);
        }
        msg_warn("%s: bad %s reply \"%s\"; using the default",
                 *label ? label : "policy", want == '5' ? "reject" : "tempfail", shown.data);
        buf_free(&shown);
        out->reply = NULL;
    }
    if (want && out->reply == NULL) {
        smtpd_chain_default(chain, out->action);
    } else if (want) {
        buf_setstr(&chain->reply, out->reply);
    } else {
        buf_reset(&chain->reply);
    }
    out->reply = want ? chain->reply.data : NULL;
}

static void smtpd_chain_walk(struct smtpd_hook_chain *chain);

/* smtpd_chain_finish - the run is decided: hand the verdict to the session */
static void smtpd_chain_finish(struct smtpd_hook_chain *chain, const struct smtpd_verdict *v,
                               const char *label)
{
    struct smtpd_verdict out = *v;
    size_t i;

    smtpd_chain_settle(chain, &out, label);
    /* A refused recipient: first shown to the later hooks that want to see it. */
    if (chain->ev->stage == SMTPD_STAGE_RCPT && !chain->showing_rejected
        && (out.action == SMTPD_REJECT || out.action == SMTPD_TEMPFAIL)) {
        for (i = chain->next; i < smtpd_hook_count; i++)
            if (smtpd_hooks[i].ops->rejected_rcpt)
                break;
        if (i < smtpd_hook_count) {
            chain->showing_rejected = 1;
            chain->rej_ev = *chain->ev;
            chain->rej_ev.rejected = chain->reply.data;
            chain->ev = &chain->rej_ev;
            chain->rej_verdict = out;
            buf_setstr(&chain->rej_rule, out.rule ? out.rule : "");
            chain->rej_verdict.rule = out.rule ? chain->rej_rule.data : NULL;
            chain->rej_label = label;
            smtpd_chain_walk(chain);
            return;
        }
    }
    chain->busy = 0;
    chain->done(chain->ctx, &out, label);
}

/* smtpd_chain_shown - every hook that wanted it has seen the refused recipient */
static void smtpd_chain_shown(struct smtpd_hook_chain *chain)
{
    chain->showing_rejected = 0;
    chain->busy = 0;
    chain->done(chain->ctx, &chain->rej_verdict, chain->rej_label);
}

/* smtpd_chain_walk - ask hooks from chain->next on, until one is pending or all answered */
static void smtpd_chain_walk(struct smtpd_hook_chain *chain)
{
    static const struct smtpd_verdict cont = { SMTPD_CONTINUE, NULL, NULL };

    while (chain->next < smtpd_hook_count) {
        const struct smtpd_hook *hook = &smtpd_hooks[chain->next];
        struct smtpd_hook_call *call = &chain->call;

        if (chain->showing_rejected && !hook->ops->rejected_rcpt) {
            chain->next++;
            continue;
        }
        call->answered = 0;
        chain->in_event = 1;
        hook->ops->event(chain->state[chain->next], call, chain->ev);
        chain->in_event = 0;
        if (!call->answered)
            return; /* smtpd_hook_done() resumes the walk */
        chain->next++;
        if (chain->showing_rejected)
            continue; /* its verdict does not matter */
        if (call->verdict.action != SMTPD_CONTINUE && call->verdict.action != SMTPD_ACCEPT) {
            smtpd_chain_finish(chain, &call->verdict, hook->ops->name ? hook->ops->name : "");
            return;
        }
    }
    if (chain->showing_rejected)
        smtpd_chain_shown(chain);
    else
        smtpd_chain_finish(chain, &cont, "");
}

/* smtpd_chain_run - ask every hook about one event; done() gets the verdict */
void smtpd_chain_run(struct smtpd_hook_chain *chain, const struct smtpd_event *ev,
                     smtpd_chain_fn done, void *ctx)
{
    if (chain->busy)
        msg_panic("smtpd_chain_run: %s event while a hook is still busy",
                  smtpd_stage_name(ev->stage));
    chain->busy = 1;
    chain->showing_rejected = 0;
    chain->next = 0;
    chain->ev = ev;
    chain->done = done;
    chain->ctx = ctx;
    smtpd_chain_walk(chain);
}

/* smtpd_hook_done - the verdict for a call; exactly once per event() */
void smtpd_hook_done(struct smtpd_hook_call *call, const struct smtpd_verdict *verdict)
{
    struct smtpd_hook_chain *chain = call->chain;
    const struct smtpd_hook *hook;

    if (!chain->busy || call->answered)
        msg_panic("smtpd_hook_done: no call pending (answered twice?)");
    hook = &smtpd_hooks[chain->next];
    call->answered = 1;
    call->verdict = *verdict;
    /* Copy the texts: the hook may free them as soon as we return. */
    if (verdict->reply) {
        buf_setstr(&call->reply, verdict->reply);
        call->verdict.reply = call->reply.data;
    }
    if (verdict->rule) {
        buf_setstr(&call->rule, verdict->rule);
        call->verdict.rule = call->rule.data;
    }
    if (chain->in_event)
        return; /* smtpd_chain_walk() goes on when event() returns */
    chain->next++;
    if (!chain->showing_rejected && call->verdict.action != SMTPD_CONTINUE
        && call->verdict.action != SMTPD_ACCEPT)
        smtpd_chain_finish(chain, &call->verdict, hook->ops->name ? hook->ops->name : "");
    else
        smtpd_chain_walk(chain);
}
