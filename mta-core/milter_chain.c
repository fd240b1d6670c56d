/*
 * milter_chain.c - run each SMTP event through the milters in order.
 *
 * As Postfix's milter.c: an event goes to the first milter, then the next,
 * and the first one that rejects or discards decides; at end of message
 * each milter sees the message as the ones before it edited it.  Unlike
 * Postfix, a quarantine (HOLD) does not stop the chain: the milters after
 * it still see the message and may still reject or discard it (Sendmail
 * does the same), so a held message is, for example, still DKIM-signed by
 * a signing milter further down the list.  One log line per decision.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/milter_chain.h"
#include "mta-core/milter_proto.h"

struct milter_chain {
    struct event_base *base;
    struct milter_conf *conf;
    struct milter_conn **conn;
    size_t n;
    struct milter_macros macros;
    struct event *done_ev;     /* hands the verdict to the caller from the loop */
    int connected;             /* the CONNECT event was sent */
    int quiet;                 /* the caller logs the decisions */

    /* The operation in progress. */
    int op;                    /* SMFIC_* event, SMFIC_BODYEOB for the message, 0 idle */
    size_t i;                  /* the milter it is at */
    struct buf payload;
    int rcpt_rejected;         /* a recipient the SMTP server rejected itself */
    int rcpt_error_macros;     /* {rcpt_host} and {rcpt_mailer} describe a rejection */
    struct milter_msg_view view; /* the message, at end of message */
    milter_chain_done_fn done;
    void *done_ctx;
    int held;                  /* a milter asked for HOLD during this operation */
    struct buf held_reason;
    const char *held_by;

    /* The verdict. */
    struct milter_verdict v;
    struct buf reply, reason;

    /* For the log. */
    struct buf client, helo, sender, rcpt;
};

static void step(struct milter_chain *mc);

/* event_name - how the log names an event */
static const char *event_name(int op)
{
    switch (op) {
    case SMFIC_CONNECT: return "CONNECT";
    case SMFIC_HELO: return "HELO";
    case SMFIC_MAIL: return "MAIL";
    case SMFIC_RCPT: return "RCPT";
    case SMFIC_DATA: return "DATA";
    case SMFIC_UNKNOWN: return "UNKNOWN";
    case SMFIC_BODYEOB: return "END-OF-MESSAGE";
    default: return "EVENT";
    }
}

/* done_cb - give the caller the verdict, from the event loop */
static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct milter_chain *mc = arg;
    milter_chain_done_fn done = mc->done;

    (void) fd;
    (void) what;
    mc->op = 0;
    mc->view.msg = NULL;
    mc->done = NULL;
    done(mc->done_ctx, &mc->v);
}

/* log_verdict - one line per decision, in the form of Postfix's milter-reject */
static void log_verdict(struct milter_chain *mc)
{
    const char *id = milter_macro_get(&mc->macros, "i");
    const char *what, *text;

    switch (mc->v.action) {
    case MILTER_REPLY:
        what = "reject";
        text = mc->v.reply;
        break;
    case MILTER_DISCARD:
        what = "discard";
        text = "milter triggers DISCARD action";
        break;
    case MILTER_HOLD:
        what = "hold";
        text = mc->v.hold_reason;
        break;
    default:
        return;
    }
    msg_info("%s: milter-%s: %s from %s: %s; from=<%s> to=<%s> helo=<%s> milter=%s",
             id && *id ? id : "NOQUEUE", what, event_name(mc->op), mc->client.data, text,
             mc->sender.data, mc->rcpt.data, mc->helo.data, mc->v.milter ? mc->v.milter : "");
}

/* finish - the operation's verdict is known */
static void finish(struct milter_chain *mc, enum milter_action a, const char *reply,
                   const char *reason, const char *milter)
{
    buf_setstr(&mc->reply, reply ? reply : "");
    buf_setstr(&mc->reason, reason ? reason : "");
    mc->v.action = a;
    mc->v.reply = a == MILTER_REPLY ? mc->reply.data : NULL;
    mc->v.hold_reason = a == MILTER_HOLD ? mc->reason.data : NULL;
    mc->v.milter = milter;
    if (!mc->rcpt_rejected && !mc->quiet)
        log_verdict(mc);
    event_active(mc->done_ev, EV_TIMEOUT, 1);
}

/* consider - one milter's verdict; 1 when it ends the operation */
static int consider(struct milter_chain *mc, const struct milter_verdict *v)
{
    if (mc->rcpt_rejected)
        return 0;
    switch (v->action) {
    case MILTER_CONTINUE:
        return 0;
    case MILTER_HOLD:
        if (!mc->held) {
            mc->held = 1;
            buf_setstr(&mc->held_reason, v->hold_reason);
            mc->held_by = v->milter;
        }
        return 0;
    default:
        finish(mc, v->action, v->reply, NULL, v->milter);
        return 1;
    }
}

/* conn_done - a milter's verdict came in from the event loop */
static void conn_done(void *ctx, struct milter_conn *c, const struct milter_verdict *v)
{
    struct milter_chain *mc = ctx;

    if (mc->op == 0 || mc->i >= mc->n || mc->conn[mc->i] != c)
        msg_panic("milter_chain: verdict from milter %s out of turn", milter_conn_name(c));
    if (consider(mc, v))
        return;
    mc->i++;
    step(mc);
}

/* step - go down the chain from milter i until one must be waited for */
static void step(struct milter_chain *mc)
{
    struct milter_verdict v;

    for (; mc->i < mc->n; mc->i++) {
        struct milter_conn *c = mc->conn[mc->i];
        int r;

        if (mc->rcpt_rejected && !milter_conn_wants_rejected_rcpt(c))
            continue;
        if (mc->op == SMFIC_BODYEOB)
            r = milter_conn_message(c, &mc->view, &v);
        else
            r = milter_conn_event(c, mc->op, &mc->payload, &v);
        if (r == MILTER_CONN_PENDING)
            return;
        if (consider(mc, &v))
            return;
    }
    if (mc->held && !mc->rcpt_rejected)
        finish(mc, MILTER_HOLD, NULL, mc->held_reason.data, mc->held_by);
    else if (mc->op == SMFIC_BODYEOB && mc->view.msg->nrcpt == 0)
        finish(mc, MILTER_DISCARD, NULL, NULL, "(every recipient was deleted)");
    else
        finish(mc, MILTER_CONTINUE, NULL, NULL, NULL);
}

/* start - begin an operation; payload is already in mc->payload */
static void start(struct milter_chain *mc, int op, milter_chain_done_fn done, void *ctx)
{
    if (mc->op != 0)
        msg_panic("milter_chain: %s while %s is in progress", event_name(op), event_name(mc->op));
    if (!mc->connected && op != SMFIC_CONNECT)
        msg_panic("milter_chain: %s before CONNECT", event_name(op));
    mc->op = op;
    mc->i = 0;
    mc->done = done;
    mc->done_ctx = ctx;
    mc->held = 0;
    mc->held_by = NULL;
    buf_reset(&mc->held_reason);
    step(mc);
}

/* milter_chain_new - the milters of conf, for one SMTP session */
struct milter_chain *milter_chain_new(struct event_base *base, struct milter_conf *conf)
{
    struct milter_chain *mc = mem_zalloc(sizeof(*mc));
    struct milter_conn_env env;
    size_t i;

    mc->base = base;
    mc->conf = milter_conf_ref(conf);
    milter_macro_init(&mc->macros);
    milter_chain_macro(mc, "j", milter_macro_get(&conf->fixed, "j"));
    milter_chain_macro(mc, "{daemon_name}", milter_macro_get(&conf->fixed, "{daemon_name}"));
    milter_chain_macro(mc, "v", milter_macro_get(&conf->fixed, "v"));
    mc->done_ev = evtimer_new(base, done_cb, mc);
    if (mc->done_ev == NULL)
        msg_fatal("milter_chain: cannot create an event");
    env.base = base;
    env.conf = conf;
    env.macros = &mc->macros;
    env.done = conn_done;
    env.ctx = mc;
    mc->n = conf->n;
    mc->conn = mem_array(mc->n ? mc->n : 1, sizeof(*mc->conn));
    for (i = 0; i < mc->n; i++)
        mc->conn[i] = milter_conn_new(&env, &conf->v[i]);
    buf_init(&mc->payload);
    buf_init(&mc->held_reason);
    buf_init(&mc->reply);
    buf_init(&mc->reason);
    buf_init(&mc->client);
    buf_init(&mc->helo);
    buf_init(&mc->sender);
    buf_init(&mc->rcpt);
    buf_setstr(&mc->client, "unknown[unknown]");
    return mc;
}

/* milter_chain_free - QUIT every milter and forget the session (no callback comes) */
void milter_chain_free(struct milter_chain *mc)
{
    size_t i;

    if (mc == NULL)
        return;
    for (i = 0; i < mc->n; i++)
        milter_conn_free(mc->conn[i]);
    mem_free(mc->conn);
    event_free(mc->done_ev);
    milter_macro_free(&mc->macros);
    milter_conf_unref(mc->conf);
    buf_free(&mc->payload);
    buf_free(&mc->held_reason);
    buf_free(&mc->reply);
    buf_free(&mc->reason);
    buf_free(&mc->client);
    buf_free(&mc->helo);
    buf_free(&mc->sender);
    buf_free(&mc->rcpt);
    mem_free(mc);
}

/* milter_chain_quiet - the caller logs every decision itself (mta-core's session does) */
void milter_chain_quiet(struct milter_chain *mc)
{
    mc->quiet = 1;
}

/*
 * milter_chain_macro - set a macro the milters may ask for ({auth_type},
 * {tls_version}, {daemon_addr}, {if_addr}, i, ...); NULL removes it.  The
 * chain sets the ones it can derive from the events itself.
 */
void milter_chain_macro(struct milter_chain *mc, const char *name, const char *value)
{
    milter_macro_set(&mc->macros, name, value);
}

/* add_argv - argv strings, each with its NUL, as MAIL and RCPT carry them */
static void add_argv(struct buf *out, const char *const *argv)
{
    for (; *argv; argv++)
        milter_proto_add_str(out, *argv);
}

/* bare_addr - "<a@b>" without its brackets */
static void bare_addr(struct buf *out, const char *addr)
{
    size_t len = strlen(addr);

    if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>')
        buf_set(out, addr + 1, len - 2);
    else
        buf_setstr(out, addr);
}

/*
 * milter_chain_connect - a client connected.  client_name is its verified
 * name or "unknown", family AF_INET, AF_INET6, AF_UNIX or AF_UNSPEC.
 */
void milter_chain_connect(struct milter_chain *mc, const char *client_name,
                          const char *client_addr, const char *client_port, int family,
                          milter_chain_done_fn done, void *ctx)
{
    struct buf name = BUF_INIT;
    long port = client_port ? strtol(client_port, NULL, 10) : 0;

    if (port < 0 || port > 65535)
        port = 0;
    milter_chain_macro(mc, "{client_addr}", client_addr);
    milter_chain_macro(mc, "{client_name}", client_name);
    milter_chain_macro(mc, "{client_ptr}", client_name);
    milter_chain_macro(mc, "{client_port}", client_port ? client_port : "0");
    buf_reset(&name);
    buf_printf(&name, "%s [%s]", client_name, client_addr);
    milter_chain_macro(mc, "_", name.data);
    buf_reset(&mc->client);
    buf_printf(&mc->client, "%s[%s]", client_name, client_addr);

    /* Sendmail's form of an unknown client name: "[address]". */
    buf_reset(&name);
    if (strcmp(client_name, "unknown") == 0 && strcmp(client_addr, "unknown") != 0)
        buf_printf(&name, "[%s]", client_addr);
    else
        buf_setstr(&name, client_name);
    buf_reset(&mc->payload);
    milter_proto_add_str(&mc->payload, name.data);
    switch (family) {
    case AF_INET:
    case AF_INET6:
        milter_proto_add_byte(&mc->payload, family == AF_INET ? SMFIA_INET : SMFIA_INET6);
        milter_proto_add_u16(&mc->payload, (uint16_t) port);
        milter_proto_add_str(&mc->payload, client_addr);
        break;
    case AF_UNIX:
        milter_proto_add_byte(&mc->payload, SMFIA_UNIX);
        milter_proto_add_u16(&mc->payload, 0);
        milter_proto_add_str(&mc->payload, client_addr);
        break;
    default:
        milter_proto_add_byte(&mc->payload, SMFIA_UNKNOWN);
        break;
    }
    buf_free(&name);
    mc->connected = 1;
    mc->rcpt_rejected = 0;
    start(mc, SMFIC_CONNECT, done, ctx);
}

/* milter_chain_helo - HELO or EHLO */
void milter_chain_helo(struct milter_chain *mc, const char *helo, milter_chain_done_fn done,
                       void *ctx)
{
    buf_setstr(&mc->helo, helo);
    buf_reset(&mc->payload);
    milter_proto_add_str(&mc->payload, helo);
    mc->rcpt_rejected = 0;
    start(mc, SMFIC_HELO, done, ctx);
}

/* milter_chain_mail - MAIL FROM: argv[0] is "<address>", then the ESMTP parameters */
void milter_chain_mail(struct milter_chain *mc, const char *const *argv,
                       milter_chain_done_fn done, void *ctx)
{
    bare_addr(&mc->sender, argv[0]);
    buf_reset(&mc->rcpt);
    milter_chain_macro(mc, "{mail_addr}", mc->sender.data);
    milter_chain_macro(mc, "{rcpt_addr}", NULL);
    buf_reset(&mc->payload);
    add_argv(&mc->payload, argv);
    mc->rcpt_rejected = 0;
    start(mc, SMFIC_MAIL, done, ctx);
}

/* milter_chain_rcpt - RCPT TO: argv[0] is "<address>", then the ESMTP parameters */
void milter_chain_rcpt(struct milter_chain *mc, const char *const *argv,
                       milter_chain_done_fn done, void *ctx)
{
    bare_addr(&mc->rcpt, argv[0]);
    milter_chain_macro(mc, "{rcpt_addr}", mc->rcpt.data);
    if (mc->rcpt_error_macros) {
        milter_chain_macro(mc, "{rcpt_host}", NULL);
        milter_chain_macro(mc, "{rcpt_mailer}", NULL);
        mc->rcpt_error_macros = 0;
    }
    buf_reset(&mc->payload);
    add_argv(&mc->payload, argv);
    mc->rcpt_rejected = 0;
    start(mc, SMFIC_RCPT, done, ctx);
}

/*
 * milter_chain_rcpt_rejected - the SMTP server rejected this recipient
 * with reply; milters that asked for SMFIP_RCPT_REJ see it with Postfix's
 * error macros (smtpd_milter.c): {rcpt_mailer} "error", {rcpt_host} the
 * enhanced status code (the reply's second word) and {rcpt_addr} the text
 * after the word that follows it, the "<address>:" of a Postfix-style reply
 * ("554 5.7.1 <u@example.com>: Relay access denied" gives "Relay access
 * denied"); a macro Postfix would leave undefined is not sent.  Only the
 * first line of a multi-line reply counts.  Their answers do not matter:
 * done() gets continue.
 */
void milter_chain_rcpt_rejected(struct milter_chain *mc, const char *const *argv,
                                const char *reply, milter_chain_done_fn done, void *ctx)
{
    struct buf text = BUF_INIT;
    char *host, *sp, *addr = NULL;

    bare_addr(&mc->rcpt, argv[0]);
    buf_addstr(&text, strlen(reply) > 4 ? reply + 4 : "");
    text.len = strcspn(text.data, "\r\n");
    text.data[text.len] = 0;
    host = text.data;
    if ((sp = strchr(host, ' ')) != NULL) {
        *sp = 0;
        if ((addr = strchr(sp + 1, ' ')) != NULL)
            addr++;
    }
    milter_chain_macro(mc, "{rcpt_host}", host);
    milter_chain_macro(mc, "{rcpt_addr}", addr);
    milter_chain_macro(mc, "{rcpt_mailer}", "error");
    buf_free(&text);
    mc->rcpt_error_macros = 1;
    buf_reset(&mc->payload);
    add_argv(&mc->payload, argv);
    mc->rcpt_rejected = 1;
    start(mc, SMFIC_RCPT, done, ctx);
}

/* milter_chain_data - the DATA command (or the first BDAT) */
void milter_chain_data(struct milter_chain *mc, milter_chain_done_fn done, void *ctx)
{
    buf_reset(&mc->payload);
    mc->rcpt_rejected = 0;
    start(mc, SMFIC_DATA, done, ctx);
}

/* milter_chain_unknown - a command the SMTP server does not know */
void milter_chain_unknown(struct milter_chain *mc, const char *command,
                          milter_chain_done_fn done, void *ctx)
{
    buf_reset(&mc->payload);
    milter_proto_add_str(&mc->payload, command);
    mc->rcpt_rejected = 0;
    start(mc, SMFIC_UNKNOWN, done, ctx);
}

/*
 * milter_chain_message - the message, at the end of DATA: headers, body
 * and end of message to each milter in turn.  The first nours headers are
 * this MTA's own (our Received:): milters do not see them.  msg is edited
 * in place and must live until done() is called.
 */
void milter_chain_message(struct milter_chain *mc, struct smtpd_msg *msg, size_t nours,
                          milter_chain_done_fn done, void *ctx)
{
    mc->view.msg = msg;
    mc->view.ours_first = 0;
    mc->view.nours = nours;
    mc->view.body_limit = mc->conf->body_limit;
    mc->rcpt_rejected = 0;
    start(mc, SMFIC_BODYEOB, done, ctx);
}

/* milter_chain_abort - the transaction is over (RSET, after the message, a new MAIL) */
void milter_chain_abort(struct milter_chain *mc)
{
    size_t i;

    if (mc->op != 0)
        msg_panic("milter_chain: abort while %s is in progress", event_name(mc->op));
    for (i = 0; i < mc->n; i++)
        milter_conn_abort(mc->conn[i]);
    milter_chain_macro(mc, "{mail_addr}", NULL);
    milter_chain_macro(mc, "{rcpt_addr}", NULL);
    milter_chain_macro(mc, "i", NULL);
    buf_reset(&mc->sender);
    buf_reset(&mc->rcpt);
}
