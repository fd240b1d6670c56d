/*
 * qmgr_transport.c - the table of delivery transports by target kind, and
 * the local transport (local_deliver() behind the transport interface).
 *
 * mailbox, command and file targets go to "local" from the start, relay
 * targets to "smtp"; qmgr_transport_register() can change that.
 */
#include <string.h>

#include "libmatch/msg.h"
#include "mta-core/local_deliver.h"
#include "mta-core/qmgr_transport.h"
#include "mta-core/queue.h"

#define QMGR_KINDS_MAX 8

static struct {
    const char *kind;
    const struct qmgr_transport *transport;
} qmgr_transports[QMGR_KINDS_MAX] = {
    {"mailbox", &qmgr_transport_local},
    {"command", &qmgr_transport_local},
    {"file", &qmgr_transport_local},
    {"relay", &qmgr_transport_smtp},
};

/* qmgr_transport_register - kind's targets go to transport from now on */
void qmgr_transport_register(const char *kind, const struct qmgr_transport *transport)
{
    int i;

    for (i = 0; i < QMGR_KINDS_MAX && qmgr_transports[i].kind; i++) {
        if (strcmp(qmgr_transports[i].kind, kind) == 0) {
            qmgr_transports[i].transport = transport;
            return;
        }
    }
    if (i == QMGR_KINDS_MAX)
        msg_panic("qmgr_transport_register: more than %d target kinds", QMGR_KINDS_MAX);
    qmgr_transports[i].kind = kind;
    qmgr_transports[i].transport = transport;
}

/* qmgr_transport_find - the transport for a target kind, or NULL */
const struct qmgr_transport *qmgr_transport_find(const char *kind)
{
    int i;

    for (i = 0; i < QMGR_KINDS_MAX && qmgr_transports[i].kind; i++)
        if (strcmp(qmgr_transports[i].kind, kind) == 0)
            return qmgr_transports[i].transport;
    return NULL;
}

/* qmgr_transport_init_all - in the daemon, before any delivery: every transport reads its settings */
int qmgr_transport_init_all(struct config *cfg, struct buf *err)
{
    int i, k;

    for (i = 0; i < QMGR_KINDS_MAX && qmgr_transports[i].kind; i++) {
        const struct qmgr_transport *t = qmgr_transports[i].transport;

        /* A transport that serves several kinds reads its settings once. */
        for (k = 0; k < i; k++)
            if (qmgr_transports[k].transport == t)
                break;
        if (k == i && t && t->init && t->init(cfg, err) < 0)
            return -1;
    }
    return 0;
}

static struct local_conf qmgr_local_conf;

/* qmgr_local_init - read local delivery's parameters */
static int qmgr_local_init(struct config *cfg, struct buf *err)
{
    local_conf_free(&qmgr_local_conf);
    return local_conf_init(&qmgr_local_conf, cfg, err);
}

/* qmgr_local_deliver - one local target */
static void qmgr_local_deliver(const struct qmgr_delivery *d, struct qmgr_result *res)
{
    const struct queue_target *t = d->target;
    struct local_request req;
    struct local_result lres;

    memset(&req, 0, sizeof(req));
    req.queue_id = d->queue_id;
    req.fd = d->fd;
    req.msg = d->msg;
    req.kind = t->kind;
    req.target = t->target;
    req.alias = t->alias;
    req.orig_rcpt = d->msg->rcpts[t->parent].address;
    req.uid = t->uid;
    req.gid = t->gid;
    memset(&lres, 0, sizeof(lres));
    buf_init(&lres.dsn);
    buf_init(&lres.text);
    local_deliver(&qmgr_local_conf, &req, &lres);
    snprintf(res->status, sizeof(res->status), "%s", lres.status[0] ? lres.status : "deferred");
    buf_setstr(&res->dsn, lres.dsn.len ? lres.dsn.data : "4.3.0");
    buf_setstr(&res->text, lres.text.len ? lres.text.data : "local delivery gave no result");
    buf_setstr(&res->relay, "local");
    buf_free(&lres.dsn);
    buf_free(&lres.text);
}

const struct qmgr_transport qmgr_transport_local = {
    "local",
    qmgr_local_init,
    qmgr_local_deliver,
    NULL,
};
