/*
 * smtpd_resolve.c - client host names, looked up off the event loop.
 *
 * As Postfix: the address is turned into a name (PTR), the name back into
 * addresses, and the name counts only if one of them is the client's
 * address ("forward-confirmed"); otherwise the client is "unknown".  The
 * system resolver (getnameinfo, getaddrinfo: /etc/hosts, DNS, whatever
 * nsswitch says) blocks, so a few worker threads do it and hand results
 * back through a pipe that the event loop watches.  A session that ends
 * first cancels its job; the job is freed when its result comes back.
 *
 * Trusts: nothing in a name from the DNS: it must look like a host name
 * (letters, digits, '-', '_', '.'), or it is not used.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/maps_lookup.h"
#include "mta-core/smtpd_server.h"

#define SMTPD_RESOLVE_THREADS 4

struct smtpd_resolve_job {
    struct sockaddr_storage sa;
    socklen_t len;
    char addr[NI_MAXHOST];
    char name[NI_MAXHOST];   /* the result: a verified name, or "" */
    char ptr[NI_MAXHOST];    /* what the PTR said, for the warning */
    int mismatch;            /* the PTR name did not resolve back */
    smtpd_resolve_fn done;
    void *ctx;
    int cancelled;
    struct smtpd_resolve_job *next;
};

static pthread_mutex_t smtpd_resolve_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t smtpd_resolve_cond = PTHREAD_COND_INITIALIZER;
static struct smtpd_resolve_job *smtpd_resolve_head, *smtpd_resolve_tail;
static int smtpd_resolve_pipe[2] = { -1, -1 };
static struct event *smtpd_resolve_ev;

/* smtpd_resolve_hostname - a name that may be shown and looked up */
static int smtpd_resolve_hostname(const char *name)
{
    const char *p;

    if (*name == 0 || strlen(name) > 255 || *name == '.' || *name == '-')
        return 0;
    for (p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
              || *p == '-' || *p == '.' || *p == '_'))
            return 0;
    /* All digits and dots would pass for an address. */
    return strspn(name, "0123456789.") != strlen(name);
}

/* smtpd_resolve_lookup - PTR then forward confirmation (in a worker thread) */
static void smtpd_resolve_lookup(struct smtpd_resolve_job *job)
{
    struct addrinfo hints, *res, *ai;

    job->name[0] = 0;
    if (getnameinfo((struct sockaddr *) &job->sa, job->len, job->addr, sizeof(job->addr), NULL, 0,
                    NI_NUMERICHOST) != 0)
        return;
    maps_addr_unmap(job->addr);
    if (getnameinfo((struct sockaddr *) &job->sa, job->len, job->ptr, sizeof(job->ptr), NULL, 0,
                    NI_NAMEREQD) != 0)
        return;
    if (!smtpd_resolve_hostname(job->ptr))
        return;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(job->ptr, NULL, &hints, &res) != 0) {
        job->mismatch = 1;
        return;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        char a[NI_MAXHOST];

        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, a, sizeof(a), NULL, 0, NI_NUMERICHOST) != 0)
            continue;
        maps_addr_unmap(a);
        if (strcasecmp(a, job->addr) == 0) {
            strcpy(job->name, job->ptr);
            break;
        }
    }
    freeaddrinfo(res);
    job->mismatch = job->name[0] == 0;
}

static void *smtpd_resolve_worker(void *arg)
{
    (void) arg;
    for (;;) {
        struct smtpd_resolve_job *job;
        int cancelled;

        pthread_mutex_lock(&smtpd_resolve_lock);
        while (smtpd_resolve_head == NULL)
            pthread_cond_wait(&smtpd_resolve_cond, &smtpd_resolve_lock);
        job = smtpd_resolve_head;
        smtpd_resolve_head = job->next;
        if (smtpd_resolve_head == NULL)
            smtpd_resolve_tail = NULL;
        cancelled = job->cancelled;
        pthread_mutex_unlock(&smtpd_resolve_lock);
        if (!cancelled)
            smtpd_resolve_lookup(job);
        while (write(smtpd_resolve_pipe[1], &job, sizeof(job)) < 0 && errno == EINTR)
            ;
    }
    return NULL;
}

/* smtpd_resolve_results - results arrived: hand them to their sessions */
static void smtpd_resolve_results(evutil_socket_t fd, short what, void *arg)
{
    struct smtpd_resolve_job *job;
    ssize_t n;

    (void) what;
    (void) arg;
    while ((n = read(fd, &job, sizeof(job))) == (ssize_t) sizeof(job)) {
        int cancelled;

        pthread_mutex_lock(&smtpd_resolve_lock);
        cancelled = job->cancelled;
        pthread_mutex_unlock(&smtpd_resolve_lock);
        if (!cancelled) {
            if (job->mismatch)
                msg_warn("hostname %s does not resolve to address %s", job->ptr, job->addr);
            job->done(job->ctx, job->name[0] ? job->name : "unknown");
        }
        mem_free(job);
    }
}

/* smtpd_resolve_init - the worker threads and the result pipe (once, before privileges go) */
void smtpd_resolve_init(struct event_base *base)
{
    pthread_t tid;
    int i;

    if (pipe2(smtpd_resolve_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        msg_fatal("pipe: %s", strerror(errno));
    smtpd_resolve_ev = event_new(base, smtpd_resolve_pipe[0], EV_READ | EV_PERSIST,
                                 smtpd_resolve_results, NULL);
    event_add(smtpd_resolve_ev, NULL);
    for (i = 0; i < SMTPD_RESOLVE_THREADS; i++) {
        if (pthread_create(&tid, NULL, smtpd_resolve_worker, NULL) != 0)
            msg_fatal("cannot start a resolver thread");
        pthread_detach(tid);
    }
}

/* smtpd_resolve_start - look up the name of the client at sa; done(ctx, name) later */
struct smtpd_resolve_job *smtpd_resolve_start(const struct sockaddr *sa, socklen_t len,
                                              smtpd_resolve_fn done, void *ctx)
{
    struct smtpd_resolve_job *job = mem_zalloc(sizeof(*job));

    if (len > sizeof(job->sa))
        len = sizeof(job->sa);
    memcpy(&job->sa, sa, len);
    job->len = len;
    job->done = done;
    job->ctx = ctx;
    pthread_mutex_lock(&smtpd_resolve_lock);
    if (smtpd_resolve_tail)
        smtpd_resolve_tail->next = job;
    else
        smtpd_resolve_head = job;
    smtpd_resolve_tail = job;
    pthread_cond_signal(&smtpd_resolve_cond);
    pthread_mutex_unlock(&smtpd_resolve_lock);
    return job;
}

/* smtpd_resolve_cancel - the session is gone: drop the result when it comes */
void smtpd_resolve_cancel(struct smtpd_resolve_job *job)
{
    pthread_mutex_lock(&smtpd_resolve_lock);
    job->cancelled = 1;
    pthread_mutex_unlock(&smtpd_resolve_lock);
}
