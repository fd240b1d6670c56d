/*
 * smtpd_anvil.c - per-client limits, as Postfix's anvil(8) keeps them:
 * connections at once, connections, messages and recipients per
 * anvil_rate_time_unit, counted per client address.
 *
 * Counts live in a hash table in the daemon (one process: no anvil server
 * to ask).  A rate is counted in fixed windows of anvil_rate_time_unit
 * seconds that start with the first event; entries with nothing going on
 * are dropped when their bucket is visited again.
 *
 * Trusts: addresses come from the kernel (getpeername), not the client.
 */
#include <string.h>
#include <time.h>

#include "libmatch/mem.h"
#include "mta-core/smtpd_server.h"

#define SMTPD_ANVIL_BUCKETS 4096

struct smtpd_anvil_window {
    time_t start;
    long count;
};

struct smtpd_anvil_entry {
    char *addr;
    long sessions;                     /* connected now */
    struct smtpd_anvil_window conn;    /* connections in this window */
    struct smtpd_anvil_window ev[2];   /* SMTPD_ANVIL_MSG, SMTPD_ANVIL_RCPT */
    struct smtpd_anvil_entry *next;
};

static struct smtpd_anvil_entry *smtpd_anvil_table[SMTPD_ANVIL_BUCKETS];

static size_t smtpd_anvil_hash(const char *addr)
{
    size_t h = 5381;

    while (*addr)
        h = h * 33 + (unsigned char) *addr++;
    return h % SMTPD_ANVIL_BUCKETS;
}

/* smtpd_anvil_idle - nothing connected and every window over */
static int smtpd_anvil_idle(const struct smtpd_anvil_entry *e, time_t now)
{
    long unit = smtpd_conf->rate_unit;

    return e->sessions == 0 && now - e->conn.start >= unit && now - e->ev[0].start >= unit
           && now - e->ev[1].start >= unit;
}

/* smtpd_anvil_find - the entry for addr (created when asked), idle neighbours dropped */
static struct smtpd_anvil_entry *smtpd_anvil_find(const char *addr, int create)
{
    struct smtpd_anvil_entry **pp = &smtpd_anvil_table[smtpd_anvil_hash(addr)], *e;
    time_t now = time(NULL);

    while ((e = *pp) != NULL) {
        if (strcmp(e->addr, addr) == 0)
            return e;
        if (smtpd_anvil_idle(e, now)) {
            *pp = e->next;
            mem_free(e->addr);
            mem_free(e);
            continue;
        }
        pp = &e->next;
    }
    if (!create)
        return NULL;
    e = mem_zalloc(sizeof(*e));
    e->addr = mem_strdup(addr);
    *pp = e;
    return e;
}

/* smtpd_anvil_tick - one event in a window; the count so far */
static long smtpd_anvil_tick(struct smtpd_anvil_window *w)
{
    time_t now = time(NULL);

    if (now - w->start >= smtpd_conf->rate_unit) {
        w->start = now;
        w->count = 0;
    }
    return ++w->count;
}

/* smtpd_anvil_connect - a client connected */
void smtpd_anvil_connect(const char *addr)
{
    struct smtpd_anvil_entry *e = smtpd_anvil_find(addr, 1);

    e->sessions++;
    smtpd_anvil_tick(&e->conn);
}

/* smtpd_anvil_disconnect - a client is gone */
void smtpd_anvil_disconnect(const char *addr)
{
    struct smtpd_anvil_entry *e = smtpd_anvil_find(addr, 0);

    if (e && e->sessions > 0)
        e->sessions--;
}

/*
 * smtpd_anvil_check - is this connection one too many?  SMTPD_ANVIL_COUNT
 * (smtpd_client_connection_count_limit) or SMTPD_ANVIL_RATE
 * (smtpd_client_connection_rate_limit), with the count; 0 limits are off.
 */
int smtpd_anvil_check(const char *addr, long *count)
{
    struct smtpd_anvil_entry *e = smtpd_anvil_find(addr, 0);

    if (e == NULL)
        return SMTPD_ANVIL_OK;
    if (smtpd_conf->conn_count_limit > 0 && e->sessions > smtpd_conf->conn_count_limit) {
        *count = e->sessions;
        return SMTPD_ANVIL_COUNT;
    }
    if (smtpd_conf->conn_rate_limit > 0 && e->conn.count > smtpd_conf->conn_rate_limit) {
        *count = e->conn.count;
        return SMTPD_ANVIL_RATE;
    }
    return SMTPD_ANVIL_OK;
}

/* smtpd_anvil_event - a message or recipient from addr: 1 when over limit (count set) */
int smtpd_anvil_event(const char *addr, int what, long limit, long *count)
{
    struct smtpd_anvil_entry *e = smtpd_anvil_find(addr, 1);

    *count = smtpd_anvil_tick(&e->ev[what]);
    return limit > 0 && *count > limit;
}
