/*
 * milter.c - libmilter glue: one engine per message, edits at the end.
 *
 * Per connection (smfi_setpriv): the client's name and address for the
 * logs, whether the MTA passes the space after a header's colon
 * (SMFIP_HDR_LEADSPC, asked for in xxfi_negotiate so that "Subject:x" and
 * "Subject: x" stay apart, as they are to Postfix's header_checks), and
 * the engine of the message under way.  Each message takes the policy
 * that is current when it starts (MAIL FROM) and keeps it to the end.
 *
 * A verdict that ends checking (REJECT, DEFER, DISCARD) is returned from
 * the callback that reached it; everything else waits for the end of the
 * message, where the edits are sent (smfi_insheader, smfi_chgheader,
 * smfi_addrcpt, smfi_delrcpt, smfi_replacebody) and HOLD becomes
 * smfi_quarantine.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "milterd/engine.h"
#include "milterd/milter.h"

#define MFILTER_BODY_CHUNK 65535 /* bytes per smfi_replacebody call (the protocol's chunk limit) */

static int mfilter_messages; /* messages under way, all connections (atomic) */
static int mfilter_stopping; /* no new messages (atomic) */

struct mfilter_conn {
    struct buf client;
    int leadspc;             /* header values come with their leading space */
    unsigned long actions;   /* what the MTA lets us do */
    struct engine *engine;   /* the message under way */
};

static struct mfilter_conn *mfilter_conn(SMFICTX *ctx)
{
    struct mfilter_conn *conn = smfi_getpriv(ctx);

    if (conn == NULL) {
        conn = mem_zalloc(sizeof(*conn));
        buf_init(&conn->client);
        buf_setstr(&conn->client, "unknown");
        conn->actions = ~0UL;
        smfi_setpriv(ctx, conn);
    }
    return conn;
}

static void mfilter_end_message(struct mfilter_conn *conn)
{
    if (conn->engine) {
        engine_free(conn->engine);
        conn->engine = NULL;
        __atomic_sub_fetch(&mfilter_messages, 1, __ATOMIC_ACQ_REL);
    }
}

/* mfilter_stop_new - refuse new messages (with a temporary failure) from now on */
void mfilter_stop_new(void)
{
    __atomic_store_n(&mfilter_stopping, 1, __ATOMIC_RELEASE);
}

/* mfilter_busy - the number of messages under way */
int mfilter_busy(void)
{
    return __atomic_load_n(&mfilter_messages, __ATOMIC_ACQUIRE);
}

/* mfilter_queue_id - pick up the queue id (macro i) as soon as the MTA tells it */
static void mfilter_queue_id(SMFICTX *ctx, struct mfilter_conn *conn)
{
    const char *qid;

    if (conn->engine && !engine_has_queue_id(conn->engine) && (qid = smfi_getsymval(ctx, "i")) != NULL)
        engine_set_queue_id(conn->engine, qid);
}

/* mfilter_setreply - the reply of a REJECT or DEFER ('%' doubled, as the protocol wants) */
static void mfilter_setreply(SMFICTX *ctx, const struct action_reply *reply)
{
    struct buf text = BUF_INIT;
    size_t i;

    for (i = 0; i < reply->text.len; i++) {
        char c = reply->text.data[i];

        if (c == '%')
            buf_addch(&text, '%');
        buf_addch(&text, c == '\r' || c == '\n' ? ' ' : c);
    }
    if (smfi_setreply(ctx, (char *) reply->code, (char *) reply->dsn, text.data) != MI_SUCCESS)
        msg_warn("smfi_setreply(%s %s %s) failed; the MTA's default reply is used", reply->code,
                 reply->dsn, text.data);
    buf_free(&text);
}

/* mfilter_status - what a verdict means for the callback that reached it */
static sfsistat mfilter_status(SMFICTX *ctx, struct mfilter_conn *conn, enum engine_verdict verdict)
{
    switch (verdict) {
    case ENGINE_REJECT:
        mfilter_setreply(ctx, engine_reply(conn->engine));
        mfilter_end_message(conn);
        return SMFIS_REJECT;
    case ENGINE_DEFER:
        mfilter_setreply(ctx, engine_reply(conn->engine));
        mfilter_end_message(conn);
        return SMFIS_TEMPFAIL;
    case ENGINE_DISCARD:
        mfilter_end_message(conn);
        return SMFIS_DISCARD;
    default:
        return SMFIS_CONTINUE;
    }
}

static sfsistat mfilter_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                                  unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                                  unsigned long *pf2, unsigned long *pf3)
{
    struct mfilter_conn *conn = mfilter_conn(ctx);
    unsigned long want = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_DELRCPT
                         | SMFIF_QUARANTINE;

    (void) f2, (void) f3;
    conn->actions = f0 & want;
    *pf0 = conn->actions;
    *pf1 = 0;
    if (f1 & SMFIP_HDR_LEADSPC) {
        *pf1 |= SMFIP_HDR_LEADSPC;
        conn->leadspc = 1;
    }
    msg_debug("negotiate: the MTA offers actions %#lx, steps %#lx; header values %s their leading space",
              f0, f1, conn->leadspc ? "keep" : "lose");
    /* Steps milterd has no use for. */
    *pf1 |= f1 & (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA);
    *pf2 = 0;
    *pf3 = 0;
    return SMFIS_CONTINUE;
}

static sfsistat mfilter_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
    struct mfilter_conn *conn = mfilter_conn(ctx);
    char addr[INET6_ADDRSTRLEN] = "";

    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *) (void *) sa)->sin_addr, addr, sizeof(addr));
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *) (void *) sa)->sin6_addr, addr, sizeof(addr));
    buf_reset(&conn->client);
    /* Without a name, MTAs pass the address in brackets: log "unknown[addr]" as Postfix does. */
    if (hostname == NULL || *hostname == 0 || *hostname == '[')
        hostname = "unknown";
    buf_printf(&conn->client, "%s[%s]", hostname, *addr ? addr : "local");
    return SMFIS_CONTINUE;
}

static sfsistat mfilter_envfrom(SMFICTX *ctx, char **argv)
{
    struct mfilter_conn *conn = mfilter_conn(ctx);
    struct policy *policy = policy_current();

    mfilter_end_message(conn);
    if (__atomic_load_n(&mfilter_stopping, __ATOMIC_ACQUIRE)) {
        policy_release(policy);
        smfi_setreply(ctx, "451", "4.3.2", "milterd is shutting down, try again later");
        return SMFIS_TEMPFAIL;
    }
    if (policy == NULL) {
        msg_warn("no policy loaded; message not accepted, try again later");
        return SMFIS_TEMPFAIL;
    }
    conn->engine = engine_new(policy, conn->client.data);
    __atomic_add_fetch(&mfilter_messages, 1, __ATOMIC_ACQ_REL);
    policy_release(policy);
    if (argv && argv[0])
        engine_set_sender(conn->engine, argv[0]);
    mfilter_queue_id(ctx, conn);
    return SMFIS_CONTINUE;
}

static sfsistat mfilter_envrcpt(SMFICTX *ctx, char **argv)
{
    struct mfilter_conn *conn = mfilter_conn(ctx);

    if (conn->engine && argv && argv[0])
        engine_add_rcpt(conn->engine, argv[0]);
    return SMFIS_CONTINUE;
}

static sfsistat mfilter_header(SMFICTX *ctx, char *name, char *value)
{
    struct mfilter_conn *conn = mfilter_conn(ctx);
    enum engine_verdict v;

    if (conn->engine == NULL)
        return SMFIS_CONTINUE;
    mfilter_queue_id(ctx, conn);
    if (conn->leadspc) {
        v = engine_header(conn->engine, name, value ? value : "");
    } else {
        /* The MTA ate the space after the colon; Sendmail's habit. */
        struct buf with_space = BUF_INIT;

        buf_printf(&with_space, " %s", value ? value : "");
        v = engine_header(conn->engine, name, with_space.data);
        buf_free(&with_space);
    }
    return mfilter_status(ctx, conn, v);
}

static sfsistat mfilter_eoh(SMFICTX *ctx)
{
    struct mfilter_conn *conn = mfilter_conn(ctx);

    if (conn->engine == NULL)
        return SMFIS_CONTINUE;
    mfilter_queue_id(ctx, conn);
    return mfilter_status(ctx, conn, engine_eoh(conn->engine));
}

static sfsistat mfilter_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
    struct mfilter_conn *conn = mfilter_conn(ctx);

    if (conn->engine == NULL)
        return SMFIS_CONTINUE;
    mfilter_queue_id(ctx, conn);
    return mfilter_status(ctx, conn, engine_body(conn->engine, (const char *) data, len));
}

/* mfilter_value - a header value as the MTA wants it back */
static char *mfilter_value(struct mfilter_conn *conn, const char *value)
{
    /* Without SMFIP_HDR_LEADSPC the MTA puts a space after the colon itself. */
    if (!conn->leadspc && value[0] == ' ')
        value++;
    return (char *) value;
}

/* mfilter_apply - send the edits of an accepted or held message */
static void mfilter_apply(SMFICTX *ctx, struct mfilter_conn *conn, const struct engine_result *r)
{
    const char *qid = smfi_getsymval(ctx, "i");
    size_t i;
    int rc = MI_SUCCESS;

    if (qid == NULL)
        qid = "NOQUEUE";
    for (i = 0; i < r->nedits; i++) {
        const struct engine_edit *e = &r->edits[i];
        const char *what = "";

        switch (e->type) {
        case ENGINE_INSHEADER:
            what = "smfi_insheader";
            rc = smfi_insheader(ctx, (int) e->index, e->name, mfilter_value(conn, e->value));
            break;
        case ENGINE_CHGHEADER:
            what = "smfi_chgheader";
            rc = smfi_chgheader(ctx, e->name, (int) e->index, e->value ? mfilter_value(conn, e->value) : NULL);
            break;
        case ENGINE_ADDRCPT:
            what = "smfi_addrcpt";
            rc = smfi_addrcpt(ctx, e->name);
            break;
        case ENGINE_DELRCPT:
            what = "smfi_delrcpt";
            rc = smfi_delrcpt(ctx, e->name);
            break;
        }
        if (rc != MI_SUCCESS)
            msg_warn("%s: %s %s failed (does the MTA allow this milter action?)", qid, what, e->name);
    }
    if (r->body) {
        struct buf err = BUF_INIT;
        unsigned char *chunk = mem_alloc(MFILTER_BODY_CHUNK);
        ssize_t n;

        if (spool_rewind(r->body, &err) < 0) {
            msg_warn("%s: cannot replace the body: %s", qid, err.data);
        } else {
            while ((n = spool_read(r->body, chunk, MFILTER_BODY_CHUNK, &err)) > 0)
                if (smfi_replacebody(ctx, chunk, (int) n) != MI_SUCCESS) {
                    msg_warn("%s: smfi_replacebody failed (does the MTA allow body changes?)", qid);
                    break;
                }
            if (n < 0)
                msg_warn("%s: cannot replace the body: %s", qid, err.data);
        }
        mem_free(chunk);
        buf_free(&err);
    }
    if (r->verdict == ENGINE_HOLD && smfi_quarantine(ctx, (char *) r->hold_reason.data) != MI_SUCCESS)
        msg_warn("%s: smfi_quarantine failed (does the MTA allow quarantine?)", qid);
}

static sfsistat mfilter_eom(SMFICTX *ctx)
{
    struct mfilter_conn *conn = mfilter_conn(ctx);
    enum engine_verdict v;

    if (conn->engine == NULL)
        return SMFIS_CONTINUE;
    mfilter_queue_id(ctx, conn);
    v = engine_eom(conn->engine);
    if (v == ENGINE_ACCEPT || v == ENGINE_HOLD) {
        mfilter_apply(ctx, conn, engine_result(conn->engine));
        mfilter_end_message(conn);
        return SMFIS_ACCEPT;
    }
    return mfilter_status(ctx, conn, v);
}

static sfsistat mfilter_abort(SMFICTX *ctx)
{
    struct mfilter_conn *conn = smfi_getpriv(ctx);

    if (conn)
        mfilter_end_message(conn);
    return SMFIS_CONTINUE;
}

static sfsistat mfilter_close(SMFICTX *ctx)
{
    struct mfilter_conn *conn = smfi_getpriv(ctx);

    if (conn) {
        mfilter_end_message(conn);
        buf_free(&conn->client);
        mem_free(conn);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

struct smfiDesc mfilter_desc = {
    .xxfi_name = "milterd",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_DELRCPT
                  | SMFIF_QUARANTINE,
    .xxfi_connect = mfilter_connect,
    .xxfi_envfrom = mfilter_envfrom,
    .xxfi_envrcpt = mfilter_envrcpt,
    .xxfi_header = mfilter_header,
    .xxfi_eoh = mfilter_eoh,
    .xxfi_body = mfilter_body,
    .xxfi_eom = mfilter_eom,
    .xxfi_abort = mfilter_abort,
    .xxfi_close = mfilter_close,
    .xxfi_negotiate = mfilter_negotiate,
};
