/*
 * milter_hook.c - the milter chain behind the SMTP server's hook interface.
 *
 * Translates smtpd_hooks.h events into milter_chain.h calls and the
 * chain's verdicts back: a reply's code picks REJECT (5xx), TEMPFAIL (4xx)
 * or SHUTDOWN (421); HOLD becomes smtpd_msg_hold() and CONTINUE, so the
 * queue puts the message on hold with the milter's reason.  The session
 * logs each decision (with the milter's name as the rule); this file only
 * moves verdicts.  Trusts the session to follow smtpd_hooks.h.
 */
#include <string.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/milter_chain.h"
#include "mta-core/milter_hook.h"
#include "mta-core/smtpd_hooks.h"

/* Our own headers at the top of every message: the session's Received:. */
#define OUR_HEADERS 1

struct milter_hook {
    struct event_base *base;
    struct milter_conf *conf;
};

/* One SMTP session. */
struct milter_session {
    struct milter_chain *mc;
    struct smtpd_hook_call *call;   /* the event waiting for the chain */
    enum smtpd_stage stage;
    struct smtpd_msg *msg;          /* the transaction of that event, or NULL */
    const char **argv;              /* MAIL and RCPT: "<address>", ESMTP parameters */
    struct buf addr;
};

static struct milter_hook hook;

/* session_open - a client connected */
static void *session_open(void *arg, const struct smtpd_client *client)
{
    struct milter_hook *h = arg;
    struct milter_session *ms;

    (void) client;
    if (h->conf == NULL || h->conf->n == 0)
        return NULL; /* no milters for this session (smtpd_milters is empty) */
    ms = mem_zalloc(sizeof(*ms));
    ms->mc = milter_chain_new(h->base, h->conf);
    milter_chain_quiet(ms->mc); /* the session logs each decision, with the milter as the rule */
    buf_init(&ms->addr);
    return ms;
}

/* session_close - the session ended: QUIT the milters, forget any pending call */
static void session_close(void *state)
{
    struct milter_session *ms = state;

    if (ms == NULL)
        return;
    milter_chain_free(ms->mc);
    mem_free(ms->argv);
    buf_free(&ms->addr);
    mem_free(ms);
}

/* answer - hand a verdict to the session */
static void answer(struct milter_session *ms, enum smtpd_action action, const char *reply,
                   const char *rule)
{
    struct smtpd_verdict v;
    struct smtpd_hook_call *call = ms->call;

    v.action = action;
    v.reply = reply;
    v.rule = rule;
    ms->call = NULL;
    smtpd_hook_done(call, &v);
}

/* chain_done - the chain's verdict for the pending event */
static void chain_done(void *ctx, const struct milter_verdict *v)
{
    struct milter_session *ms = ctx;
    enum smtpd_action action = SMTPD_CONTINUE;
    const char *reply = NULL;

    switch (v->action) {
    case MILTER_REPLY:
        reply = v->reply;
        action = strncmp(reply, "421", 3) == 0 ? SMTPD_SHUTDOWN
                 : reply[0] == '4'            ? SMTPD_TEMPFAIL
                                              : SMTPD_REJECT;
        break;
    case MILTER_DISCARD:
        action = SMTPD_DISCARD;
        break;
    case MILTER_HOLD:
        if (ms->msg)
            smtpd_msg_hold(ms->msg, v->hold_reason);
        break;
    default:
        break;
    }
    /* Postfix tells the milters after every message that the transaction is over. */
    if (ms->stage == SMTPD_STAGE_EOM)
        milter_chain_abort(ms->mc);
    answer(ms, action, reply, v->milter);
}

/* set_argv - "<address>" and the ESMTP parameters, as MAIL and RCPT carry them */
static const char *const *set_argv(struct milter_session *ms, const struct smtpd_event *ev)
{
    size_t n = 0, i;

    while (ev->esmtp_args && ev->esmtp_args[n])
        n++;
    buf_reset(&ms->addr);
    buf_printf(&ms->addr, "<%s>", ev->arg ? ev->arg : "");
    mem_free(ms->argv);
    ms->argv = mem_array(n + 2, sizeof(*ms->argv));
    ms->argv[0] = ms->addr.data;
    for (i = 0; i < n; i++)
        ms->argv[i + 1] = ev->esmtp_args[i];
    ms->argv[n + 1] = NULL;
    return ms->argv;
}

/* session_event - one stage of the session */
static void session_event(void *state, struct smtpd_hook_call *call, const struct smtpd_event *ev)
{
    struct milter_session *ms = state;
    const struct smtpd_client *cl = ev->client;
    char bits[16];

    if (ms == NULL) {
        static const struct smtpd_verdict cont = { SMTPD_CONTINUE, NULL, NULL };

        smtpd_hook_done(call, &cont);
        return;
    }
    ms->call = call;
    ms->stage = ev->stage;
    ms->msg = ev->msg;
    if (ev->msg && ev->msg->queue_id)
        milter_chain_macro(ms->mc, "i", ev->msg->queue_id);
    switch (ev->stage) {
    case SMTPD_STAGE_CONNECT:
        milter_chain_macro(ms->mc, "j", cl->myhostname);
        milter_chain_macro(ms->mc, "{daemon_addr}", cl->server_addr);
        milter_chain_macro(ms->mc, "{daemon_port}", cl->server_port);
        milter_chain_macro(ms->mc, "{if_addr}", cl->server_addr);
        milter_chain_connect(ms->mc, cl->name, cl->addr, cl->port, cl->family, chain_done, ms);
        break;
    case SMTPD_STAGE_HELO:
        milter_chain_macro(ms->mc, "{tls_version}", cl->tls_version);
        milter_chain_macro(ms->mc, "{cipher}", cl->tls_cipher);
        snprintf(bits, sizeof(bits), "%d", cl->tls_bits);
        milter_chain_macro(ms->mc, "{cipher_bits}", cl->tls_version ? bits : NULL);
        milter_chain_helo(ms->mc, ev->arg, chain_done, ms);
        break;
    case SMTPD_STAGE_MAIL:
        milter_chain_mail(ms->mc, set_argv(ms, ev), chain_done, ms);
        break;
    case SMTPD_STAGE_RCPT:
        if (ev->rejected)
            milter_chain_rcpt_rejected(ms->mc, set_argv(ms, ev), ev->rejected, chain_done, ms);
        else
            milter_chain_rcpt(ms->mc, set_argv(ms, ev), chain_done, ms);
        break;
    case SMTPD_STAGE_DATA:
        milter_chain_data(ms->mc, chain_done, ms);
        break;
    case SMTPD_STAGE_EOM:
        milter_chain_message(ms->mc, ev->msg, OUR_HEADERS, chain_done, ms);
        break;
    case SMTPD_STAGE_UNKNOWN:
        milter_chain_unknown(ms->mc, ev->arg, chain_done, ms);
        break;
    case SMTPD_STAGE_ABORT:
        milter_chain_abort(ms->mc);
        answer(ms, SMTPD_CONTINUE, NULL, NULL);
        break;
    default:
        /* HEADER, EOH, BODY: the milters get the whole message at the end. */
        answer(ms, SMTPD_CONTINUE, NULL, NULL);
        break;
    }
}

static const struct smtpd_hook_ops milter_hook_ops = {
    "milter", session_open, session_event, session_close, 1 /* SMFIP_RCPT_REJ */
};

/*
 * milter_hook_init - read the milter settings and register the hook (also
 * without milters: a reload may add some, and the hook then serves the
 * sessions that begin after it).  -1 and a reason on a bad setting.
 */
int milter_hook_init(struct config *cfg, struct event_base *base, struct buf *err)
{
    struct milter_conf *conf = milter_conf_new(cfg, err);

    if (conf == NULL)
        return -1;
    milter_conf_unref(hook.conf);
    hook.conf = conf;
    hook.base = base;
    smtpd_hooks_register(&milter_hook_ops, &hook);
    return 0;
}

/*
 * milter_hook_reload - SIGHUP: the milter settings of cfg for the sessions
 * that begin from now on; sessions in progress keep the chain they have
 * (each holds a reference to its configuration).  -1 and a reason, with
 * the running settings kept, on a bad setting.
 */
int milter_hook_reload(struct config *cfg, struct buf *err)
{
    struct milter_conf *conf = milter_conf_new(cfg, err);

    if (conf == NULL)
        return -1;
    milter_conf_unref(hook.conf);
    hook.conf = conf;
    return 0;
}

/* milter_hook_count - how many milters new sessions get */
size_t milter_hook_count(void)
{
    return hook.conf ? hook.conf->n : 0;
}
