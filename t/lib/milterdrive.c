/*
 * milterdrive.c - drive mta-core's milter client from a script, for tests.
 *
 *   milterdrive [-c mta-core.conf] [-o name=value]... [-t] SCRIPT
 *
 * Plays SMTP sessions against the milters of smtpd_milters, all sessions at
 * once in one libevent loop (as mta-core runs them), each session's
 * commands one after the other.  SCRIPT lines ('#' comments, "quoted"
 * words with \r \n \t escapes):
 *
 *   session NAME                      the lines below belong to session NAME
 *   connect NAME ADDR PORT [4|6|unix|unknown]
 *   helo NAME      mail ARG...      rcpt ARG...      data      unknown "CMD"
 *   rcpt_rejected ADDR "REPLY"        a recipient the server itself rejected
 *   macro NAME VALUE                  set a macro for later events
 *   message FILE [OUT [HIDE]]         end of DATA: the message in FILE (the first
 *                                     HIDE headers are the MTA's own); the edited
 *                                     message goes to OUT
 *   abort          sleep MSEC       quit
 *
 * Output, one line per command as its verdict arrives:
 *   NAME: COMMAND: continue | reply TEXT | discard | hold REASON [(MILTER)]
 * and after "message" the envelope: "NAME: sender <a>", "NAME: rcpt <b>".
 * With -t every line starts with the milliseconds since the start.
 * A recipient whose verdict is a reply is not part of the envelope.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "libmatch/config.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/milter_chain.h"
#include "mta-core/milter_conf.h"
#include "mta-core/params.h"
#include "mta-core/smtpd_content.h"
#include "mta-core/smtpd_msg.h"

#define MAX_WORDS 32

struct cmd {
    char *w[MAX_WORDS + 1];
    int n;
};

struct session {
    char *name;
    struct cmd *cmds;
    int ncmds, next;
    struct milter_chain *mc;
    struct smtpd_msg *msg;
    char *out_path;
    char *sender;
    char **rcpt;
    int nrcpt;
    struct event *timer;
};

static struct session *sessions;
static int nsessions, running;
static struct event_base *base;
static struct milter_conf *conf;
static int timing;
static struct timeval t0;

static void next_cmd(struct session *s);

static const char *escaped(const char *s)
{
    static struct buf b = BUF_INIT;

    buf_reset(&b);
    for (; s && *s; s++) {
        if (*s == '\r')
            buf_addstr(&b, "\\r");
        else if (*s == '\n')
            buf_addstr(&b, "\\n");
        else
            buf_addch(&b, *s);
    }
    return b.data;
}

static void out(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(struct session *s, const char *fmt, ...)
{
    va_list ap;

    if (timing) {
        struct timeval now;

        gettimeofday(&now, NULL);
        printf("%ld ", (long) ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_usec - t0.tv_usec) / 1000));
    }
    printf("%s: ", s->name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void unescape(char *s)
{
    char *r = s, *w = s;

    while (*r) {
        if (*r == '\\' && r[1]) {
            r++;
            *w++ = *r == 'n' ? '\n' : *r == 'r' ? '\r' : *r == 't' ? '\t' : *r;
            r++;
        } else {
            *w++ = *r++;
        }
    }
    *w = 0;
}

static void read_script(const char *path)
{
    FILE *fp = fopen(path, "r");
    char line[8192];
    struct session *cur = NULL;

    if (fp == NULL)
        msg_fatal("cannot open %s: %s", path, strerror(errno));
    while (fgets(line, sizeof(line), fp)) {
        struct cmd c;
        char *p = line;

        memset(&c, 0, sizeof(c));
        line[strcspn(line, "\n")] = 0;
        while (c.n < MAX_WORDS) {
            char *start;

            p += strspn(p, " \t");
            if (*p == 0 || *p == '#')
                break;
            if (*p == '"') {
                start = ++p;
                while (*p && *p != '"') {
                    if (*p == '\\' && p[1])
                        p++;
                    p++;
                }
            } else {
                start = p;
                p += strcspn(p, " \t");
            }
            if (*p)
                *p++ = 0;
            unescape(start);
            c.w[c.n++] = mem_strdup(start);
        }
        if (c.n == 0)
            continue;
        if (strcmp(c.w[0], "session") == 0 && c.n == 2) {
            sessions = mem_realloc_array(sessions, (size_t) nsessions + 1, sizeof(*sessions));
            cur = &sessions[nsessions++];
            memset(cur, 0, sizeof(*cur));
            mem_free(c.w[0]);
            cur->name = c.w[1];
            continue;
        }
        if (cur == NULL) {
            sessions = mem_realloc_array(sessions, 1, sizeof(*sessions));
            cur = &sessions[nsessions++];
            memset(cur, 0, sizeof(*cur));
            cur->name = mem_strdup("s");
        }
        cur->cmds = mem_realloc_array(cur->cmds, (size_t) cur->ncmds + 1, sizeof(*cur->cmds));
        cur->cmds[cur->ncmds++] = c;
    }
    fclose(fp);
}

static void print_verdict(struct session *s, const char *what, const struct milter_verdict *v)
{
    switch (v->action) {
    case MILTER_CONTINUE:
        out(s, "%s: continue", what);
        break;
    case MILTER_REPLY:
        out(s, "%s: reply %s (%s)", what, escaped(v->reply), v->milter ? v->milter : "");
        break;
    case MILTER_DISCARD:
        out(s, "%s: discard (%s)", what, v->milter ? v->milter : "");
        break;
    case MILTER_HOLD:
        out(s, "%s: hold %s (%s)", what, v->hold_reason, v->milter ? v->milter : "");
        break;
    }
}

static int write_fp(void *ctx, const char *data, size_t len, struct buf *err)
{
    FILE *fp = ctx;

    if (fwrite(data, 1, len, fp) == len)
        return 0;
    buf_printf(err, "write: %s", strerror(errno));
    return -1;
}

/* content_event - what smtpd_content found: into the message */
static void content_event(struct smtpd_content *c, enum smtpd_content_event ev,
                          struct smtpd_msg *msg)
{
    struct buf err = BUF_INIT;

    if (ev == SMTPD_CONTENT_HEADER)
        smtpd_msg_add_header(msg, c->name.data, c->value.data);
    else if (ev == SMTPD_CONTENT_BODY && smtpd_msg_body_append(msg, c->body.data, c->body.len,
                                                               &err) < 0)
        msg_fatal("%s", err.data);
    buf_free(&err);
}

/*
 * load_message - the message in path, parsed as the SMTP server parses
 * DATA (smtpd_content.c), into a new smtpd_msg; LF line ends are made CRLF
 * first, as they would be on the wire.
 */
static struct smtpd_msg *load_message(const char *path)
{
    struct smtpd_msg *msg = smtpd_msg_new(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    struct smtpd_content c;
    enum smtpd_content_event ev;
    struct buf wire = BUF_INIT;
    FILE *fp = fopen(path, "r");
    size_t off = 0;
    int ch, last = 0;

    if (fp == NULL)
        msg_fatal("cannot open %s: %s", path, strerror(errno));
    while ((ch = getc(fp)) != EOF) {
        if (ch == '\n' && last != '\r')
            buf_addch(&wire, '\r');
        buf_addch(&wire, ch);
        last = ch;
    }
    fclose(fp);
    smtpd_content_init(&c, SMTPD_CONTENT_BDAT, 1024 * 1024);
    while (off < wire.len) {
        off += smtpd_content_feed(&c, wire.data + off, wire.len - off, &ev);
        content_event(&c, ev, msg);
    }
    do {
        ev = smtpd_content_finish(&c);
        content_event(&c, ev, msg);
    } while (ev != SMTPD_CONTENT_END);
    if (c.bad)
        msg_fatal("%s: bare CR in the message", path);
    smtpd_content_free(&c);
    buf_free(&wire);
    return msg;
}

/* bare - an address without its <> */
static char *bare(const char *addr)
{
    size_t len = strlen(addr);

    if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>')
        return mem_strndup(addr + 1, len - 2);
    return mem_strdup(addr);
}

static void done(void *ctx, const struct milter_verdict *v)
{
    struct session *s = ctx;
    struct cmd *c = &s->cmds[s->next - 1];
    struct buf what = BUF_INIT;
    int i;

    for (i = 0; i < c->n && i < 3; i++)
        buf_printf(&what, "%s%s", i ? " " : "", c->w[i]);
    print_verdict(s, what.data, v);
    buf_free(&what);
    if (strcmp(c->w[0], "mail") == 0) {
        mem_free(s->sender);
        s->sender = bare(c->w[1]);
    } else if (strcmp(c->w[0], "rcpt") == 0 && v->action != MILTER_REPLY) {
        s->rcpt = mem_realloc_array(s->rcpt, (size_t) s->nrcpt + 1, sizeof(*s->rcpt));
        s->rcpt[s->nrcpt++] = bare(c->w[1]);
    } else if (strcmp(c->w[0], "message") == 0) {
        struct buf err = BUF_INIT;
        size_t j;

        out(s, "sender <%s>%s%s", s->msg->sender, *s->msg->sender_args ? " " : "",
            s->msg->sender_args);
        for (j = 0; j < s->msg->nrcpt; j++)
            out(s, "rcpt <%s>%s%s", s->msg->rcpts[j].addr, *s->msg->rcpts[j].args ? " " : "",
                s->msg->rcpts[j].args);
        if (s->out_path) {
            FILE *fp = fopen(s->out_path, "w");

            if (fp == NULL || smtpd_msg_write(s->msg, write_fp, fp, &err) < 0)
                msg_fatal("cannot write %s: %s", s->out_path, err.len ? err.data : strerror(errno));
            fclose(fp);
        }
        buf_free(&err);
        smtpd_msg_free(s->msg);
        s->msg = NULL;
    }
    next_cmd(s);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    next_cmd(arg);
}

static void finish_session(struct session *s)
{
    milter_chain_free(s->mc);
    s->mc = NULL;
    if (--running == 0)
        event_base_loopbreak(base);
}

static int family_of(const char *s)
{
    if (strcmp(s, "4") == 0)
        return AF_INET;
    if (strcmp(s, "6") == 0)
        return AF_INET6;
    if (strcmp(s, "unix") == 0)
        return AF_UNIX;
    return AF_UNSPEC;
}

/* next_cmd - run the session's next command */
static void next_cmd(struct session *s)
{
    struct cmd *c;

    for (;;) {
        if (s->next >= s->ncmds) {
            finish_session(s);
            return;
        }
        c = &s->cmds[s->next++];
        if (strcmp(c->w[0], "macro") == 0 && c->n == 3) {
            milter_chain_macro(s->mc, c->w[1], c->w[2]);
        } else if (strcmp(c->w[0], "abort") == 0) {
            milter_chain_abort(s->mc);
            mem_free(s->sender);
            s->sender = NULL;
            while (s->nrcpt > 0)
                mem_free(s->rcpt[--s->nrcpt]);
            out(s, "abort");
        } else if (strcmp(c->w[0], "quit") == 0) {
            out(s, "quit");
            finish_session(s);
            return;
        } else if (strcmp(c->w[0], "sleep") == 0 && c->n == 2) {
            struct timeval tv = { atol(c->w[1]) / 1000, (atol(c->w[1]) % 1000) * 1000 };

            if (s->timer == NULL)
                s->timer = evtimer_new(base, timer_cb, s);
            evtimer_add(s->timer, &tv);
            return;
        } else {
            break;
        }
    }
    if (strcmp(c->w[0], "connect") == 0 && c->n >= 4) {
        milter_chain_connect(s->mc, c->w[1], c->w[2], c->w[3],
                             c->n >= 5 ? family_of(c->w[4]) : AF_INET, done, s);
    } else if (strcmp(c->w[0], "helo") == 0 && c->n == 2) {
        milter_chain_helo(s->mc, c->w[1], done, s);
    } else if (strcmp(c->w[0], "mail") == 0 && c->n >= 2) {
        milter_chain_mail(s->mc, (const char *const *) c->w + 1, done, s);
    } else if (strcmp(c->w[0], "rcpt") == 0 && c->n >= 2) {
        milter_chain_rcpt(s->mc, (const char *const *) c->w + 1, done, s);
    } else if (strcmp(c->w[0], "rcpt_rejected") == 0 && c->n == 3) {
        const char *argv[2] = { c->w[1], NULL };

        milter_chain_rcpt_rejected(s->mc, argv, c->w[2], done, s);
    } else if (strcmp(c->w[0], "data") == 0) {
        milter_chain_data(s->mc, done, s);
    } else if (strcmp(c->w[0], "unknown") == 0 && c->n == 2) {
        milter_chain_unknown(s->mc, c->w[1], done, s);
    } else if (strcmp(c->w[0], "message") == 0 && c->n >= 2) {
        int i;

        s->msg = load_message(c->w[1]);
        smtpd_msg_set_sender(s->msg, s->sender ? s->sender : "", "");
        for (i = 0; i < s->nrcpt; i++)
            smtpd_msg_add_rcpt(s->msg, s->rcpt[i], "");
        s->out_path = c->n >= 3 ? c->w[2] : NULL;
        milter_chain_message(s->mc, s->msg, c->n >= 4 ? (size_t) atoi(c->w[3]) : 0, done, s);
    } else {
        msg_fatal("bad script line starting with %s", c->w[0]);
    }
}

int main(int argc, char **argv)
{
    struct config *cfg;
    struct buf err = BUF_INIT;
    size_t i;
    int ch;

    signal(SIGPIPE, SIG_IGN);
    cfg = config_new(mta_params);
    if (config_set(cfg, "myhostname = mx.example.test", &err) < 0)
        msg_fatal("%s", err.data);
    while ((ch = getopt(argc, argv, "c:o:tv")) != -1) {
        switch (ch) {
        case 'c':
            if (config_load(cfg, optarg, &err) < 0)
                msg_fatal("%s", err.data);
            break;
        case 'o':
            if (config_set(cfg, optarg, &err) < 0)
                msg_fatal("%s", err.data);
            break;
        case 't':
            timing = 1;
            break;
        case 'v':
            msg_verbose++;
            break;
        default:
            msg_fatal("usage: milterdrive [-c conf] [-o name=value]... [-t] script");
        }
    }
    if (optind != argc - 1)
        msg_fatal("usage: milterdrive [-c conf] [-o name=value]... [-t] script");
    if (config_check(cfg, &err) < 0 || (conf = milter_conf_new(cfg, &err)) == NULL)
        msg_fatal("%s", err.data);
    msg_open("milterdrive", MSG_STDERR, 0);
    read_script(argv[optind]);
    base = event_base_new();
    gettimeofday(&t0, NULL);
    running = nsessions;
    for (i = 0; i < (size_t) nsessions; i++)
        sessions[i].mc = milter_chain_new(base, conf);
    for (i = 0; i < (size_t) nsessions; i++)
        next_cmd(&sessions[i]);
    if (running > 0)
        event_base_dispatch(base);
    for (i = 0; i < (size_t) nsessions; i++) {
        struct session *s = &sessions[i];
        int j, k;

        if (s->timer)
            event_free(s->timer);
        for (j = 0; j < s->ncmds; j++)
            for (k = 0; k < s->cmds[j].n; k++)
                mem_free(s->cmds[j].w[k]);
        mem_free(s->cmds);
        for (j = 0; j < s->nrcpt; j++)
            mem_free(s->rcpt[j]);
        mem_free(s->rcpt);
        mem_free(s->sender);
        mem_free(s->name);
    }
    mem_free(sessions);
    milter_conf_unref(conf);
    event_base_free(base);
    config_free(cfg);
    return 0;
}
