/*
 * smtpd_policy.c - the built-in policy, the first hook of every session:
 * relay control (mynetworks, mydestination, relay_domains) and the
 * access_maps verdicts for the client, the sender and each recipient.
 *
 * It answers at once (it only looks at tables in memory), through the
 * same hook interface as the milters (smtpd_hooks.h).  The order is
 * Postfix's default one:
 *   1. client (smtpd_client_restrictions = check_client_access)
 *   2. sender (smtpd_sender_restrictions = check_sender_access)
 *   3. relay control (smtpd_relay_restrictions = permit_mynetworks,
 *      reject_unauth_destination): the recipient's domain must be ours
 *      (mydestination, relay_domains), or the client in mynetworks, or an
 *      access entry for the client or the recipient must say RELAY;
 *      otherwise "554 5.7.1 <rcpt>: Relay access denied"
 *   4. recipient (check_recipient_access)
 * With smtpd_delay_reject = yes (the default, as in Postfix) a client or
 * sender refusal is given at RCPT, to each recipient, so that the log has
 * the recipients; with "no", at CONNECT and MAIL.  OK and RELAY end the
 * checks of their own step only.  DISCARD and HOLD apply to the message.
 *
 * Trusts: the operator's tables; client data only as lookup keys.
 */
#include <string.h>
#include <strings.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/maps_lookup.h"
#include "mta-core/smtpd_hooks.h"
#include "mta-core/smtpd_server.h"

struct policy_conf {
    struct maps_list *mynetworks;
    struct maps_list *mydestination;
    struct maps_list *relay_domains;
    struct maps *access;
    int delay_reject;
    long reject_code;
    long defer_code;
    long relay_code;
    char *delimiter;
    char *myorigin;
};

static struct policy_conf policy;

/* A decision kept for later (smtpd_delay_reject), or the one being made. */
struct policy_decision {
    enum smtpd_action action;
    struct buf reply;
    struct buf rule;
    struct buf note;   /* DISCARD/HOLD: what to log */
};

struct policy_state {
    const struct smtpd_client *client;
    int mynet;                        /* the client is in mynetworks */
    int relay;                        /* an access entry for the client said RELAY */
    struct policy_decision client_d;  /* the client's refusal, DISCARD or HOLD */
    struct policy_decision sender_d;  /* the sender's, for this transaction */
    struct policy_decision now;       /* the verdict being returned */
};

static void policy_decision_init(struct policy_decision *d)
{
    d->action = SMTPD_CONTINUE;
    buf_init(&d->reply);
    buf_init(&d->rule);
    buf_init(&d->note);
}

static void policy_decision_reset(struct policy_decision *d)
{
    d->action = SMTPD_CONTINUE;
    buf_reset(&d->reply);
    buf_reset(&d->rule);
    buf_reset(&d->note);
}

static void policy_decision_free(struct policy_decision *d)
{
    buf_free(&d->reply);
    buf_free(&d->rule);
    buf_free(&d->note);
}

static void policy_decision_copy(struct policy_decision *to, const struct policy_decision *from)
{
    to->action = from->action;
    buf_set(&to->reply, from->reply.data, from->reply.len);
    buf_set(&to->rule, from->rule.data, from->rule.len);
    buf_set(&to->note, from->note.data, from->note.len);
}

/*
 * policy_access - look up one subject in access_maps and turn the result
 * into a decision (d); returns 1 when the result was RELAY.  reply_name
 * and reply_class make Postfix's "<name>: Class rejected: text".
 */
static int policy_access(enum maps_access_kind kind, const char *name, const char *addr,
                         const char *reply_name, const char *reply_class,
                         struct policy_decision *d)
{
    struct table_match m;
    struct buf key = BUF_INIT, err = BUF_INIT;
    struct maps_verdict v;
    int rc, relay = 0;

    policy_decision_reset(d);
    if (policy.access == NULL)
        return 0;
    table_match_init(&m);
    maps_verdict_init(&v);
    rc = maps_access_find(policy.access, kind, name, addr, policy.delimiter, &key, &m, &err);
    if (rc < 0) {
        msg_warn("access_maps: lookup of %s failed: %s", key.data, err.data);
        d->action = SMTPD_TEMPFAIL;
        buf_printf(&d->reply, "451 4.3.0 <%s>: %s rejected: Temporary lookup failure", reply_name,
                   reply_class);
        buf_printf(&d->rule, "access_maps (%s)", key.data);
        goto done;
    }
    if (rc == 0)
        goto done;
    buf_printf(&d->rule, "access_maps %s:%d (%s)", m.file, m.line, key.data);
    maps_access_parse(m.result.data, (int) policy.reject_code, (int) policy.defer_code, &v);
    switch (v.action) {
    case MAPS_DUNNO:
    case MAPS_OK:
        break;
    case MAPS_RELAY:
        relay = 1;
        break;
    case MAPS_REJECT:
    case MAPS_DEFER:
        d->action = v.action == MAPS_REJECT ? SMTPD_REJECT : SMTPD_TEMPFAIL;
        if (v.sendmail)
            buf_printf(&d->reply, "%d %s %s", v.code, v.dsn, v.text.data);
        else
            buf_printf(&d->reply, "%d %s <%s>: %s rejected: %s", v.code, v.dsn, reply_name,
                       reply_class, v.text.len ? v.text.data : "Access denied");
        break;
    case MAPS_DISCARD:
    case MAPS_HOLD:
        /* Inside the policy, a HOLD decision is kept as SMTPD_ACCEPT (see policy_apply). */
        d->action = v.action == MAPS_DISCARD ? SMTPD_DISCARD : SMTPD_ACCEPT;
        buf_printf(&d->note, "<%s>: %s %s", reply_name, reply_class,
                   v.text.len ? v.text.data
                              : v.action == MAPS_DISCARD ? "triggers DISCARD action" : "triggers HOLD action");
        break;
    case MAPS_WARN:
        msg_info("warn: <%s>: %s %s; rule=%s", reply_name, reply_class, v.text.data, d->rule.data);
        break;
    case MAPS_BROKEN:
        msg_warn("access_maps %s, line %d: unknown result \"%s\" for %s", m.file, m.line,
                 m.result.data, key.data);
        d->action = SMTPD_TEMPFAIL;
        buf_addstr(&d->reply, "451 4.3.5 Server configuration error");
        break;
    }
done:
    maps_verdict_free(&v);
    table_match_free(&m);
    buf_free(&key);
    buf_free(&err);
    return relay;
}

/* policy_log_note - the line for a DISCARD or HOLD decision */
static void policy_log_note(struct policy_state *ps, const struct smtpd_event *ev, const char *what,
                            const struct policy_decision *d)
{
    const struct smtpd_client *c = ps->client;

    msg_info("%s: %s: %s from %s: %s; from=<%s>%s%s%s proto=%s%s%s%s rule=%s",
             ev->msg && ev->msg->queue_id ? ev->msg->queue_id : "NOQUEUE", what,
             smtpd_stage_name(ev->stage), c->namaddr, d->note.data, ev->msg ? ev->msg->sender : "",
             ev->stage == SMTPD_STAGE_RCPT ? " to=<" : "", ev->stage == SMTPD_STAGE_RCPT ? ev->arg : "",
             ev->stage == SMTPD_STAGE_RCPT ? ">" : "", c->protocol, c->helo ? " helo=<" : "",
             c->helo ? c->helo : "", c->helo ? ">" : "", d->rule.data);
}

/*
 * policy_apply - act on a decision at MAIL or RCPT: a refusal becomes the
 * verdict (1), DISCARD becomes the verdict (1), HOLD marks the message (0).
 */
static int policy_apply(struct policy_state *ps, const struct smtpd_event *ev,
                        const struct policy_decision *d)
{
    switch (d->action) {
    case SMTPD_REJECT:
    case SMTPD_TEMPFAIL:
        policy_decision_copy(&ps->now, d);
        return 1;
    case SMTPD_DISCARD:
        policy_log_note(ps, ev, "discard", d);
        policy_decision_copy(&ps->now, d);
        return 1;
    case SMTPD_ACCEPT: /* HOLD */
        if (ev->msg && ev->msg->hold_reason == NULL) {
            policy_log_note(ps, ev, "hold", d);
            smtpd_msg_hold(ev->msg, d->note.data);
        }
        return 0;
    default:
        return 0;
    }
}

/* policy_local - is the recipient's domain ours (mydestination, relay_domains)? -1: lookup failed */
static int policy_local(const char *rcpt, struct buf *err)
{
    const char *at = strrchr(rcpt, '@');
    struct buf domain = BUF_INIT;
    int rc;

    if (at == NULL)
        return 1; /* "postmaster": local by definition (RFC 5321 4.5.1) */
    buf_setstr(&domain, at + 1);
    while (domain.len > 0 && domain.data[domain.len - 1] == '.')
        buf_truncate(&domain, domain.len - 1);
    rc = maps_list_match(policy.mydestination, domain.data, NULL, err);
    if (rc == 0 && policy.relay_domains)
        rc = maps_list_match(policy.relay_domains, domain.data, NULL, err);
    buf_free(&domain);
    return rc;
}

/* policy_rcpt - steps 1 to 4 for one recipient */
static void policy_rcpt(struct policy_state *ps, const struct smtpd_event *ev)
{
    struct policy_decision rd;
    struct buf err = BUF_INIT;
    int relay, local;

    if (policy_apply(ps, ev, &ps->client_d) || policy_apply(ps, ev, &ps->sender_d))
        return;
    policy_decision_init(&rd);
    relay = policy_access(MAPS_ACCESS_RCPT, ev->arg, NULL, ev->arg, "Recipient address", &rd);
    local = policy_local(ev->arg, &err);
    if (local < 0) {
        msg_warn("mydestination/relay_domains: lookup failed: %s", err.data);
        ps->now.action = SMTPD_TEMPFAIL;
        buf_printf(&ps->now.reply, "451 4.3.0 <%s>: Temporary lookup failure", ev->arg);
    } else if (!local && !ps->mynet && !ps->relay && !relay) {
        ps->now.action = SMTPD_REJECT;
        buf_printf(&ps->now.reply, "%ld 5.7.1 <%s>: Relay access denied", policy.relay_code, ev->arg);
        buf_setstr(&ps->now.rule, "relay control: not mynetworks, not mydestination, not relay_domains");
    } else {
        policy_apply(ps, ev, &rd);
    }
    policy_decision_free(&rd);
    buf_free(&err);
}

/* policy_client - CONNECT: mynetworks, and the client's access entry */
static void policy_client(struct policy_state *ps)
{
    const struct smtpd_client *c = ps->client;
    struct buf err = BUF_INIT;
    int rc = maps_list_match(policy.mynetworks, c->name, c->addr, &err);

    if (rc < 0)
        msg_warn("mynetworks: lookup failed for %s: %s", c->namaddr, err.data);
    ps->mynet = rc > 0;
    ps->relay = policy_access(MAPS_ACCESS_CLIENT, c->name, c->addr, c->namaddr, "Client host",
                              &ps->client_d);
    buf_free(&err);
}

/* policy_sender - MAIL: the sender's access entry ("<>" for the null sender) */
static void policy_sender(struct policy_state *ps, const struct smtpd_event *ev)
{
    const char *sender = ev->arg;
    struct buf qualified = BUF_INIT;

    /* Postfix looks up an unqualified sender as user@$myorigin. */
    if (*sender && strchr(sender, '@') == NULL) {
        buf_printf(&qualified, "%s@%s", sender, policy.myorigin);
        sender = qualified.data;
    }
    policy_access(MAPS_ACCESS_SENDER, sender, NULL, *ev->arg ? ev->arg : "", "Sender address",
                  &ps->sender_d);
    buf_free(&qualified);
}

static void *policy_open(void *arg, const struct smtpd_client *client)
{
    struct policy_state *ps = mem_zalloc(sizeof(*ps));

    (void) arg;
    ps->client = client;
    policy_decision_init(&ps->client_d);
    policy_decision_init(&ps->sender_d);
    policy_decision_init(&ps->now);
    return ps;
}

static void policy_event(void *state, struct smtpd_hook_call *call, const struct smtpd_event *ev)
{
    struct policy_state *ps = state;
    struct smtpd_verdict v = { SMTPD_CONTINUE, NULL, NULL };

    policy_decision_reset(&ps->now);
    switch (ev->stage) {
    case SMTPD_STAGE_CONNECT:
        policy_client(ps);
        if (!policy.delay_reject
            && (ps->client_d.action == SMTPD_REJECT || ps->client_d.action == SMTPD_TEMPFAIL))
            policy_decision_copy(&ps->now, &ps->client_d);
        break;
    case SMTPD_STAGE_MAIL:
        policy_sender(ps, ev);
        if (!policy.delay_reject) {
            if (!policy_apply(ps, ev, &ps->client_d))
                policy_apply(ps, ev, &ps->sender_d);
        }
        else if (ps->sender_d.action == SMTPD_DISCARD || ps->sender_d.action == SMTPD_ACCEPT)
            policy_apply(ps, ev, &ps->sender_d);
        break;
    case SMTPD_STAGE_RCPT:
        policy_rcpt(ps, ev);
        break;
    case SMTPD_STAGE_ABORT:
    case SMTPD_STAGE_EOM:
        policy_decision_reset(&ps->sender_d);
        break;
    default:
        break;
    }
    if (ps->now.action != SMTPD_CONTINUE) {
        v.action = ps->now.action;
        v.reply = ps->now.reply.len ? ps->now.reply.data : NULL;
        v.rule = ps->now.rule.data;
    }
    smtpd_hook_done(call, &v);
}

static void policy_close(void *state)
{
    struct policy_state *ps = state;

    policy_decision_free(&ps->client_d);
    policy_decision_free(&ps->sender_d);
    policy_decision_free(&ps->now);
    mem_free(ps);
}

static const struct smtpd_hook_ops policy_ops = { "", policy_open, policy_event, policy_close, 0 };

/* smtpd_policy_init - read the policy settings and put the policy first in the chain */
int smtpd_policy_init(struct config *cfg, struct buf *err)
{
    const char *access;

    memset(&policy, 0, sizeof(policy));
    if ((policy.mynetworks = maps_list_open("mynetworks", config_get(cfg, "mynetworks"),
                                            MAPS_LIST_NETS | MAPS_LIST_PARENT, err)) == NULL)
        return -1;
    if ((policy.mydestination = maps_list_open("mydestination", config_get(cfg, "mydestination"),
                                               MAPS_LIST_DOMAIN, err)) == NULL)
        return -1;
    if (*config_get(cfg, "relay_domains")
        && (policy.relay_domains = maps_list_open("relay_domains", config_get(cfg, "relay_domains"),
                                                  MAPS_LIST_DOMAIN | MAPS_LIST_PARENT, err)) == NULL)
        return -1;
    access = config_get(cfg, "access_maps");
    if (*access && (policy.access = maps_open("access_maps", access, err)) == NULL)
        return -1;
    if (config_get_bool(cfg, "smtpd_delay_reject", &policy.delay_reject, err) < 0
        || config_get_int(cfg, "access_map_reject_code", 500, 599, &policy.reject_code, err) < 0
        || config_get_int(cfg, "access_map_defer_code", 400, 499, &policy.defer_code, err) < 0
        || config_get_int(cfg, "relay_domains_reject_code", 400, 599, &policy.relay_code, err) < 0)
        return -1;
    policy.delimiter = mem_strdup(config_get(cfg, "recipient_delimiter"));
    policy.myorigin = mem_strdup(config_get(cfg, "myorigin"));
    smtpd_hooks_register(&policy_ops, NULL);
    return 0;
}
