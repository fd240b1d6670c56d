/*
 * 401-smtpd-msg-hooks.c - the editable message (headers inserted, changed,
 * deleted by name and index; recipients added and removed; a body that
 * spills to the spool file and reads back; the written form) and the hook
 * chain (order, synchronous and asynchronous answers, the first refusal
 * stops the chain, replies that do not fit the action are replaced,
 * DISCARD at CONNECT becomes TEMPFAIL, close cancels).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "libmatch/mem.h"
#include "mta-core/smtpd_hooks.h"
#include "mta-core/smtpd_msg.h"
#include "t/lib/tap.h"

static int collect(void *ctx, const char *data, size_t len, struct buf *err)
{
    (void) err;
    buf_add(ctx, data, len);
    return 0;
}

static void test_msg(const char *spool)
{
    struct smtpd_msg *msg = smtpd_msg_new(spool);
    struct buf out = BUF_INIT, err = BUF_INIT;
    char *big;
    size_t i, n = 3 * SMTPD_MSG_MEM_LIMIT + 17;
    char chunk[100];

    smtpd_msg_set_sender(msg, "a@example.org", "SIZE=10");
    smtpd_msg_add_rcpt(msg, "x@example.com", NULL);
    smtpd_msg_add_rcpt(msg, "Y@example.com", "NOTIFY=NEVER");
    smtpd_msg_add_rcpt(msg, "y@example.com", NULL);
    is_int(smtpd_msg_del_rcpt(msg, "y@EXAMPLE.com"), 2, "del_rcpt removes every match, case aside");
    is_int(msg->nrcpt, 1, "one recipient left");
    is_string(msg->rcpts[0].args, "", "args default to empty");

    smtpd_msg_add_header(msg, "Received", " from a by b");
    smtpd_msg_add_header(msg, "Subject", " one");
    smtpd_msg_add_header(msg, "X-Tag", " 1");
    smtpd_msg_add_header(msg, "x-tag", " 2");
    smtpd_msg_insert_header(msg, 0, "X-Top", " first");
    smtpd_msg_insert_header(msg, 99, "X-Bottom", " last");
    is_int(smtpd_msg_change_header(msg, "X-TAG", 2, " two"), 1, "change the 2nd X-Tag");
    is_int(smtpd_msg_change_header(msg, "X-Tag", 0, NULL), 1, "index 0 counts as 1: delete the 1st");
    is_int(smtpd_msg_change_header(msg, "X-Tag", 2, " none"), 0, "no 2nd X-Tag any more");
    ok(smtpd_msg_find_header(msg, "subject", 1) != NULL, "find by name, any case");
    smtpd_msg_add_header(msg, "Folded", " a\n\tb");
    ok(smtpd_msg_body_append(msg, "body\n", 5, &err) == 0, "small body in memory");
    is_int(msg->body_fd, -1, "no spool file yet");
    smtpd_msg_write(msg, collect, &out, &err);
    is_string(out.data, "X-Top: first\nReceived: from a by b\nSubject: one\nx-tag: two\n"
              "X-Bottom: last\nFolded: a\n\tb\n\nbody\n", "written form, edits in place");
    is_int(smtpd_msg_size(msg), out.len, "size matches what is written");

    /* A large body goes to the spool and reads back the same. */
    big = mem_alloc(n);
    for (i = 0; i < n; i++)
        big[i] = (char) ('a' + i % 26);
    smtpd_msg_body_reset(msg, &err);
    for (i = 0; i < n; i += 1000)
        smtpd_msg_body_append(msg, big + i, n - i < 1000 ? n - i : 1000, &err);
    ok(msg->body_fd >= 0, "body spilled to a spool file");
    is_int(msg->body_len, n, "body length");
    is_int(smtpd_msg_body_read(msg, (off_t) n - 50, chunk, sizeof(chunk), &err), 50, "short read at the end");
    ok(memcmp(chunk, big + n - 50, 50) == 0, "tail reads back");
    buf_reset(&out);
    ok(smtpd_msg_write(msg, collect, &out, &err) == 0, "write from the spool");
    ok(out.len > n && memcmp(out.data + out.len - n, big, n) == 0, "spooled body written intact");
    ok(smtpd_msg_body_reset(msg, &err) == 0 && msg->body_len == 0, "reset empties the spooled body");
    smtpd_msg_hold(msg, "");
    is_string(msg->hold_reason, "held", "hold with a default reason");
    mem_free(big);
    buf_free(&out);
    buf_free(&err);
    smtpd_msg_free(msg);
}

/* Hooks: each has a script of verdicts and may answer later. */
struct fake {
    const char *name;
    enum smtpd_action action;
    const char *reply;
    int async;
    int opened, events, closed;
    struct smtpd_hook_call *pending;
};

static struct buf trace = BUF_INIT;

static void *fake_open(void *arg, const struct smtpd_client *client)
{
    struct fake *f = arg;

    (void) client;
    f->opened++;
    return f;
}

static void fake_event(void *state, struct smtpd_hook_call *call, const struct smtpd_event *ev)
{
    struct fake *f = state;
    struct smtpd_verdict v = { f->action, f->reply, f->name };

    f->events++;
    buf_printf(&trace, "%s:%s ", f->name, smtpd_stage_name(ev->stage));
    if (f->async)
        f->pending = call;
    else
        smtpd_hook_done(call, &v);
}

static void fake_close(void *state)
{
    struct fake *f = state;

    f->closed++;
    f->pending = NULL;
}

static void fake_answer(struct fake *f)
{
    struct smtpd_verdict v = { f->action, f->reply, f->name };
    struct smtpd_hook_call *call = f->pending;

    f->pending = NULL;
    smtpd_hook_done(call, &v);
}

static const struct smtpd_hook_ops fake_ops_a = { "", fake_open, fake_event, fake_close, 0 };
static const struct smtpd_hook_ops fake_ops_m = { "milter", fake_open, fake_event, fake_close, 0 };

static int got_done;
static struct smtpd_verdict got;
static struct buf got_reply = BUF_INIT;
static struct buf got_label = BUF_INIT;

static void on_done(void *ctx, const struct smtpd_verdict *v, const char *label)
{
    (void) ctx;
    got_done++;
    got = *v;
    buf_setstr(&got_reply, v->reply ? v->reply : "(none)");
    buf_setstr(&got_label, label);
}

static void run(struct smtpd_hook_chain *chain, enum smtpd_stage stage)
{
    static struct smtpd_event ev; /* must outlive an asynchronous run */

    memset(&ev, 0, sizeof(ev));
    ev.stage = stage;
    got_done = 0;
    buf_reset(&trace);
    smtpd_chain_run(chain, &ev, on_done, NULL);
}

static void test_hooks(void)
{
    struct fake policy = { "policy", SMTPD_CONTINUE, NULL, 0, 0, 0, 0, NULL };
    struct fake milter = { "m1", SMTPD_CONTINUE, NULL, 1, 0, 0, 0, NULL };
    struct smtpd_client client;
    struct smtpd_hook_chain *chain;

    memset(&client, 0, sizeof(client));
    client.myhostname = "mx.example";
    smtpd_hooks_reset();
    smtpd_hooks_register(&fake_ops_a, &policy);
    smtpd_hooks_register(&fake_ops_m, &milter);
    chain = smtpd_chain_open(&client);
    is_int(policy.opened + milter.opened, 2, "every hook opened for the session");

    run(chain, SMTPD_STAGE_CONNECT);
    is_int(got_done, 0, "an asynchronous hook suspends the chain");
    ok(smtpd_chain_busy(chain), "the chain is busy");
    is_string(trace.data, "policy:CONNECT m1:CONNECT ", "hooks asked in order");
    fake_answer(&milter);
    is_int(got_done, 1, "the late answer finishes the run");
    is_int(got.action, SMTPD_CONTINUE, "all continued");

    policy.action = SMTPD_REJECT;
    policy.reply = "554 5.7.1 <x>: Relay access denied";
    run(chain, SMTPD_STAGE_RCPT);
    is_int(got_done, 1, "a synchronous refusal answers at once");
    is_string(trace.data, "policy:RCPT ", "the milter is not asked after a refusal");
    is_string(got_reply.data, "554 5.7.1 <x>: Relay access denied", "the hook's reply is kept");
    is_string(got_label.data, "", "the built-in policy has no label");

    policy.action = SMTPD_CONTINUE;
    milter.action = SMTPD_TEMPFAIL;
    milter.reply = "550 5.7.1 wrong class";
    run(chain, SMTPD_STAGE_MAIL);
    fake_answer(&milter);
    is_string(got_reply.data, "451 4.7.1 Service unavailable - try again later",
              "a 5xx text for TEMPFAIL is replaced by the default");
    is_string(got_label.data, "milter", "the label names the hook");

    milter.action = SMTPD_REJECT;
    milter.reply = "550-5.7.1 first\r\n550 5.7.1 second";
    run(chain, SMTPD_STAGE_EOM);
    fake_answer(&milter);
    is_string(got_reply.data, "550-5.7.1 first\r\n550 5.7.1 second", "multi-line reply accepted");

    milter.reply = "550-5.7.1 first\r\n551 5.7.1 second";
    run(chain, SMTPD_STAGE_EOM);
    fake_answer(&milter);
    is_string(got_reply.data, "550 5.7.1 Command rejected", "mixed codes: default reply");

    milter.reply = "550 5.7.1 bad\r\nline";
    run(chain, SMTPD_STAGE_EOM);
    fake_answer(&milter);
    is_string(got_reply.data, "550 5.7.1 Command rejected", "a bare line break: default reply");

    milter.action = SMTPD_DISCARD;
    milter.reply = NULL;
    run(chain, SMTPD_STAGE_CONNECT);
    fake_answer(&milter);
    is_int(got.action, SMTPD_TEMPFAIL, "DISCARD at CONNECT is taken as TEMPFAIL");

    milter.action = SMTPD_SHUTDOWN;
    run(chain, SMTPD_STAGE_HELO);
    fake_answer(&milter);
    is_string(got_reply.data, "421 4.7.0 mx.example Server closing connection", "SHUTDOWN default reply");

    milter.action = SMTPD_CONTINUE;
    run(chain, SMTPD_STAGE_DATA);
    ok(milter.pending != NULL, "a call pending at close");
    smtpd_chain_close(chain);
    is_int(policy.closed + milter.closed, 2, "close reaches every hook");
    is_int(got_done, 0, "a cancelled run never reports");
    smtpd_hooks_reset();
}

int main(void)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[4096];

    snprintf(dir, sizeof(dir), "%s/mailsift-401.XXXXXX", tmp);
    if (mkdtemp(dir) == NULL)
        bail("mkdtemp: cannot make a spool directory");
    test_msg(dir);
    test_hooks();
    rmdir(dir);
    return done_testing();
}
