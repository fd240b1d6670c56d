/*
 * 421-smtpd-hooks-async.c - the hook interface as a milter uses it: a test
 * hook that answers every event late (from a libevent timer) suspends the
 * session at CONNECT, RCPT, each header, the body and end of message
 * without losing pipelined input; its refusals come back to the client
 * with its words; its end-of-message edits (headers added, changed,
 * deleted; a recipient added and one removed; the body replaced; hold)
 * reach the queue; a session that ends while a hook is deciding cancels
 * the call.  mta-core runs in a child process, the test is its client.
 */
#include <errno.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "libmatch/buf.h"
#include "libmatch/mem.h"
#include "mta-core/params.h"
#include "mta-core/smtpd_hooks.h"
#include "mta-core/smtpd_server.h"
#include "t/lib/tap.h"

/* The hook (in the server process) ------------------------------------------ */

struct late {
    struct event *timer;
    struct smtpd_hook_call *call;
    struct smtpd_verdict v;
    char reply[200];
    int headers;
    size_t body;
};

static void late_fire(evutil_socket_t fd, short what, void *arg)
{
    struct late *l = arg;
    struct smtpd_hook_call *call = l->call;

    (void) fd;
    (void) what;
    l->call = NULL;
    smtpd_hook_done(call, &l->v);
}

static void *late_open(void *arg, const struct smtpd_client *client)
{
    struct late *l = mem_zalloc(sizeof(*l));

    (void) arg;
    (void) client;
    l->timer = evtimer_new(smtpd_conf->base, late_fire, l);
    return l;
}

/* late_edit - what a milter does at end of message */
static void late_edit(struct late *l, struct smtpd_msg *msg)
{
    struct buf err = BUF_INIT;
    const struct smtpd_header *subj = smtpd_msg_find_header(msg, "Subject", 1);
    /* A header pointer lasts until the next edit: take what is needed first. */
    int edit = subj && strstr(subj->value, "edit");
    int hold = subj && strstr(subj->value, "hold");
    int reject = subj && strstr(subj->value, "reject");
    char note[100];

    snprintf(note, sizeof(note), " %d headers, %zu body bytes", l->headers, l->body);
    smtpd_msg_add_header(msg, "X-Seen", note);
    smtpd_msg_insert_header(msg, 0, "X-Top", " first");
    if (edit) {
        smtpd_msg_change_header(msg, "Subject", 1, " edited");
        smtpd_msg_change_header(msg, "X-Remove", 1, NULL);
        smtpd_msg_add_rcpt(msg, "added@mx.test", NULL);
        smtpd_msg_del_rcpt(msg, "removed@mx.test");
        smtpd_msg_body_reset(msg, &err);
        smtpd_msg_body_append(msg, "replaced body\n", 14, &err);
    }
    if (hold)
        smtpd_msg_hold(msg, "held by the test hook");
    if (reject) {
        l->v.action = SMTPD_REJECT;
        l->v.reply = "550 5.7.1 content refused by the test hook";
    }
    buf_free(&err);
}

static void late_event(void *state, struct smtpd_hook_call *call, const struct smtpd_event *ev)
{
    struct late *l = state;
    struct timeval tv = { 0, 30000 };

    memset(&l->v, 0, sizeof(l->v));
    l->v.action = SMTPD_CONTINUE;
    l->v.rule = "test hook";
    switch (ev->stage) {
    case SMTPD_STAGE_CONNECT:
        tv.tv_usec = 200000; /* the greeting waits */
        break;
    case SMTPD_STAGE_RCPT:
        if (strncmp(ev->arg, "refused", 7) == 0) {
            l->v.action = SMTPD_REJECT;
            snprintf(l->reply, sizeof(l->reply), "550 5.7.1 <%s>: refused by the test hook", ev->arg);
            l->v.reply = l->reply;
        } else if (strncmp(ev->arg, "later", 5) == 0) {
            l->v.action = SMTPD_TEMPFAIL;
        } else if (strncmp(ev->arg, "bye", 3) == 0) {
            l->v.action = SMTPD_SHUTDOWN;
        } else if (strncmp(ev->arg, "drop", 4) == 0) {
            l->v.action = SMTPD_DISCARD;
        } else if (strncmp(ev->arg, "forever", 7) == 0) {
            tv.tv_sec = 3600; /* the client goes away first */
        }
        break;
    case SMTPD_STAGE_HEADER:
        l->headers++;
        tv.tv_usec = 1000;
        break;
    case SMTPD_STAGE_BODY:
        l->body += ev->len;
        tv.tv_usec = 1000;
        break;
    case SMTPD_STAGE_EOM:
        late_edit(l, ev->msg);
        l->headers = 0;
        l->body = 0;
        break;
    default:
        tv.tv_usec = 1000;
        break;
    }
    l->call = call;
    evtimer_add(l->timer, &tv);
}

static int late_closed_pending;

static void late_close(void *state)
{
    struct late *l = state;

    if (l->call)
        late_closed_pending++;
    event_free(l->timer);
    mem_free(l);
}

static const struct smtpd_hook_ops late_ops = { "milter", late_open, late_event, late_close, 0 };

/* The client (in the test process) ------------------------------------------ */

static int conn(int port)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0), i;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short) port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (i = 0; i < 100; i++) {
        if (connect(fd, (struct sockaddr *) &sin, sizeof(sin)) == 0)
            return fd;
        usleep(50000);
    }
    bail("cannot connect to port %d", port);
}

static void say(int fd, const char *text)
{
    if (write(fd, text, strlen(text)) != (ssize_t) strlen(text))
        bail("write failed");
}

/* reply - one whole reply (its last line), "" when the server closed */
static const char *reply(int fd)
{
    static char line[1024];
    size_t n = 0;
    char ch;

    for (;;) {
        ssize_t r = read(fd, &ch, 1);

        if (r <= 0)
            return "";
        if (ch == '\n') {
            line[n > 0 && line[n - 1] == '\r' ? n - 1 : n] = 0;
            if (n >= 4 && line[3] == ' ')
                return line;
            n = 0;
            continue;
        }
        if (n < sizeof(line) - 1)
            line[n++] = ch;
    }
}

static char tmpdir[4096];

/* slurp - the one message delivered to user (Maildir/new), waiting for it */
static char *slurp(const char *user, int wait_ms)
{
    char path[8192];
    struct dirent *d;
    DIR *dp;
    int i;

    for (i = 0; i < wait_ms / 50; i++) {
        snprintf(path, sizeof(path), "%s/home/%s/Maildir/new", tmpdir, user);
        if ((dp = opendir(path)) != NULL) {
            while ((d = readdir(dp)) != NULL) {
                if (d->d_name[0] != '.') {
                    FILE *fp;
                    static char text[65536];
                    size_t n;

                    snprintf(path, sizeof(path), "%s/home/%s/Maildir/new/%s", tmpdir, user, d->d_name);
                    closedir(dp);
                    if ((fp = fopen(path, "r")) == NULL)
                        return NULL;
                    n = fread(text, 1, sizeof(text) - 1, fp);
                    text[n] = 0;
                    fclose(fp);
                    return text;
                }
            }
            closedir(dp);
        }
        usleep(50000);
    }
    return NULL;
}

static int count_dir(const char *sub)
{
    char path[8192];
    struct dirent *d;
    DIR *dp;
    int n = 0;

    snprintf(path, sizeof(path), "%s/q/%s", tmpdir, sub);
    if ((dp = opendir(path)) == NULL)
        return 0;
    while ((d = readdir(dp)) != NULL)
        n += d->d_name[0] != '.';
    closedir(dp);
    return n;
}

static int free_port(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *) &sin, sizeof(sin)) < 0
        || getsockname(fd, (struct sockaddr *) &sin, &len) < 0)
        bail("no free port");
    port = ntohs(sin.sin_port);
    close(fd);
    return port;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char o[4][4200];
    char *ov[6];
    struct timespec t0, t1;
    const char *r;
    char *m;
    pid_t pid;
    int port = free_port(), fd, status;

    snprintf(tmpdir, sizeof(tmpdir), "%s/mailsift-421.XXXXXX", tmp);
    if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) < 0)
        bail("mkdtemp failed");
    snprintf(o[0], sizeof(o[0]), "queue_directory=%s/q", tmpdir);
    snprintf(o[1], sizeof(o[1]), "home_base=%s/home", tmpdir);
    snprintf(o[2], sizeof(o[2]), "smtpd_listen=127.0.0.1:%d", port);
    snprintf(o[3], sizeof(o[3]), "myhostname=mx.test");
    ov[0] = o[0], ov[1] = o[1], ov[2] = o[2], ov[3] = o[3];
    ov[4] = "home_mailbox=Maildir/";
    ov[5] = NULL;

    if ((pid = fork()) == 0) {
        struct config *cfg = params_load(NULL, ov, 5, 0);

        smtpd_hooks_register(&late_ops, NULL);
        smtpd_server_run(cfg);
        fprintf(stderr, "late hook: %d call(s) cancelled at close\n", late_closed_pending);
        exit(late_closed_pending == 1 ? 0 : 3);
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);
    fd = conn(port);
    is_string(reply(fd), "220 mx.test ESMTP mailsift", "greeting, after the CONNECT hook answered");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ok((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 190, "the greeting waited for the hook");

    /* Everything pipelined while the hooks take their time. */
    say(fd, "EHLO c.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<refused@mx.test>\r\n"
            "RCPT TO:<later@mx.test>\r\nRCPT TO:<kept@mx.test>\r\nRCPT TO:<removed@mx.test>\r\nDATA\r\n");
    is_string(reply(fd), "250 CHUNKING", "EHLO");
    is_string(reply(fd), "250 2.1.0 Ok", "MAIL");
    is_string(reply(fd), "550 5.7.1 <refused@mx.test>: refused by the test hook", "a late REJECT, the hook's words");
    is_string(reply(fd), "451 4.7.1 Service unavailable - try again later", "a late TEMPFAIL, default words");
    is_string(reply(fd), "250 2.1.5 Ok", "kept");
    is_string(reply(fd), "250 2.1.5 Ok", "removed (for now)");
    is_string(reply(fd), "354 End data with <CR><LF>.<CR><LF>", "DATA");
    say(fd, "Subject: please edit\r\nX-Remove: me\r\nX-Keep: me\r\n\r\n");
    say(fd, "original body\r\n.\r\n");
    r = reply(fd);
    ok(strncmp(r, "250 2.0.0 Ok: queued as ", 24) == 0, "queued after the late EOM answer");

    m = slurp("kept", 5000);
    ok(m != NULL, "delivered to kept");
    m = m ? m : "";
    ok(strstr(m, "\nX-Top: first\nReceived: from c.test") != NULL, "a header inserted at the top, above ours");
    ok(strstr(m, "\nSubject: edited\n") != NULL, "Subject changed");
    ok(strstr(m, "X-Remove") == NULL && strstr(m, "\nX-Keep: me\n") != NULL, "X-Remove deleted, X-Keep kept");
    ok(strstr(m, "\nX-Seen: 4 headers, 14 body bytes\n") != NULL,
       "the hook saw 4 headers (ours too) and the body, one event at a time");
    ok(strstr(m, "\n\nreplaced body\n") != NULL && strstr(m, "original body") == NULL, "body replaced");
    ok(slurp("added", 5000) != NULL, "a recipient added at end of message");
    ok(slurp("removed", 500) == NULL, "a recipient removed at end of message");

    say(fd, "MAIL FROM:<a@example.org>\r\nRCPT TO:<x@mx.test>\r\nDATA\r\n");
    reply(fd), reply(fd), reply(fd);
    say(fd, "Subject: please hold\r\n\r\nbody\r\n.\r\n");
    ok(strncmp(reply(fd), "250 2.0.0 Ok: queued as", 23) == 0, "hold: accepted");
    ok(count_dir("hold") == 1, "and in the hold queue");

    say(fd, "MAIL FROM:<a@example.org>\r\nRCPT TO:<y@mx.test>\r\nDATA\r\n");
    reply(fd), reply(fd), reply(fd);
    say(fd, "Subject: reject me\r\n\r\nbody\r\n.\r\n");
    is_string(reply(fd), "550 5.7.1 content refused by the test hook", "a refusal at end of message");

    say(fd, "MAIL FROM:<a@example.org>\r\nRCPT TO:<drop@mx.test>\r\nDATA\r\n");
    reply(fd), reply(fd), reply(fd);
    say(fd, "Subject: dropped\r\n\r\nbody\r\n.\r\n");
    ok(strncmp(reply(fd), "250 2.0.0 Ok: queued as", 23) == 0, "DISCARD at RCPT: the client is told it was taken");
    ok(slurp("drop", 1000) == NULL, "but nothing is delivered");

    say(fd, "MAIL FROM:<a@example.org>\r\nRCPT TO:<bye@mx.test>\r\n");
    reply(fd);
    is_string(reply(fd), "421 4.7.0 mx.test Server closing connection", "SHUTDOWN: 421...");
    is_string(reply(fd), "", "... and the connection is closed");
    close(fd);

    /* A client that leaves while a hook is deciding. */
    fd = conn(port);
    reply(fd);
    say(fd, "HELO c.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<forever@mx.test>\r\n");
    reply(fd), reply(fd);
    usleep(200000);
    close(fd);
    usleep(300000);

    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "the server stopped cleanly, and the pending call was cancelled at close (exit %d)",
       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return done_testing();
}
