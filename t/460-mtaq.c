/*
 * 460-mtaq.c - mtaq(8) on a queue with messages in every queue: list in
 * mailq's layout (marks, reasons, hold reasons, summary), --hold,
 * --deferred, --json, show with and without --body, release (one, ALL,
 * ids on stdin), hold with a reason, delete, flush, unknown and invalid
 * ids (exit 1, clear message), usage errors (exit 2), one log line per
 * action, and a lint-clean man page.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "mta-core/queue.h"
#include "t/lib/tap.h"

static char dir[256], qdir[300], mtaq[1200], top[900];
static struct buf out = BUF_INIT, errout = BUF_INIT;

static void slurp(const char *path, struct buf *b)
{
    char chunk[4096];
    size_t n;
    FILE *fp = fopen(path, "r");

    buf_reset(b);
    if (fp == NULL)
        return;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_add(b, chunk, n);
    fclose(fp);
}

/* run - mtaq with args (and stdin text); its exit status, output in out/errout */
static int run(const char *args, const char *input)
{
    char cmd[4096];
    int st;

    snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | %s -o queue_directory=%s %s >%s/out 2>%s/err", input ? input : "",
             mtaq, qdir, args, dir, dir);
    st = system(cmd);
    snprintf(cmd, sizeof(cmd), "%s/out", dir);
    slurp(cmd, &out);
    snprintf(cmd, sizeof(cmd), "%s/err", dir);
    slurp(cmd, &errout);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void make_msg(const char *sender, const char *rcpts, const char *subject, const char *hold, char *id)
{
    struct buf err = BUF_INIT, body = BUF_INIT;
    struct queue_file *qf = queue_create(qdir, &err);
    char *copy = strdup(rcpts), *save = NULL, *r;

    if (qf == NULL)
        bail("queue_create: %s", err.data);
    snprintf(id, QUEUE_ID_SIZE, "%s", queue_file_id(qf));
    queue_set_sender(qf, sender);
    queue_add_sender_param(qf, "BODY", "8BITMIME");
    queue_add_attr(qf, "client_address", "192.0.2.7");
    for (r = strtok_r(copy, " ", &save); r; r = strtok_r(NULL, " ", &save))
        queue_add_rcpt(qf, r, QUEUE_NOTIFY_FAILURE, "");
    free(copy);
    buf_printf(&body, "Subject: %s\nFrom: <%s>\n\nThe body line.\n", subject, sender);
    queue_write(qf, body.data, body.len);
    if (hold)
        queue_set_hold(qf, hold);
    if (queue_commit(qf, &err) < 0)
        bail("queue_commit: %s", err.data);
    buf_free(&err);
    buf_free(&body);
}

static const char *where(const char *id)
{
    const char *q = queue_find(qdir, id);

    return q ? q : "nowhere";
}

static int contains(const struct buf *b, const char *text)
{
    return strstr(b->data, text) != NULL;
}

int main(int argc, char **argv)
{
    char a[QUEUE_ID_SIZE], b[QUEUE_ID_SIZE], c[QUEUE_ID_SIZE], d[QUEUE_ID_SIZE];
    struct buf err = BUF_INIT, args = BUF_INIT;
    char path[2048];
    int fd;

    (void) argc;
    snprintf(path, sizeof(path), "%s", argv[0]);
    snprintf(top, sizeof(top), "%s/../..", dirname(path));
    snprintf(mtaq, sizeof(mtaq), "%s/mta-core/mtaq", top);
    if (access(mtaq, X_OK) < 0)
        bail("%s: %s (run make first)", mtaq, strerror(errno));
    snprintf(dir, sizeof(dir), "%s/mailsift-460-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL)
        bail("mkdtemp: %s", strerror(errno));
    snprintf(qdir, sizeof(qdir), "%s/q", dir);
    if (queue_init_dirs(qdir, &err) < 0)
        bail("%s", err.data);

    is_int(run("list", NULL), 0, "list on an empty queue");
    is_string(out.data, "Mail queue is empty\n", "says the queue is empty");

    /* A: incoming, two recipients.  B: hold.  C: deferred, one target delivered.  D: active. */
    make_msg("alice@example.org", "bob@example.org carol@example.org", "incoming", NULL, a);
    make_msg("", "dave@example.org", "held", "milter: nasty attachment", b);
    make_msg("erin@example.org", "frank@example.org grace@example.org", "deferred", NULL, c);
    make_msg("heidi@example.org", "ivan@example.org", "active", NULL, d);
    queue_move(qdir, c, QUEUE_INCOMING, QUEUE_DEFERRED, &err);
    queue_move(qdir, d, QUEUE_INCOMING, QUEUE_ACTIVE, &err);
    queue_path(&args, qdir, QUEUE_DEFERRED, c);
    fd = open(args.data, O_WRONLY | O_APPEND);
    queue_append_target(fd, 0, "mailbox", 0, 0, "frank@example.org", "frank@example.org", &err);
    queue_append_target(fd, 1, "mailbox", 0, 0, "grace@example.org", "grace@example.org", &err);
    queue_append(fd, 'K', "2", 1, &err);
    queue_append_status(fd, 0, "deferred", "4.3.0", 100, "temporary failure. Command output: disk full", &err);
    queue_append_status(fd, 1, "sent", "2.0.0", 100, "delivered to maildir", &err);
    close(fd);

    is_int(run("list", NULL), 0, "list with four messages");
    ok(contains(&out, "----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------\n"),
       "mailq's long-id header");
    snprintf(path, sizeof(path), "%s*", d);
    ok(contains(&out, path), "the active message is marked *");
    snprintf(path, sizeof(path), "%s!", b);
    ok(contains(&out, path), "the held message is marked !");
    ok(contains(&out, " MAILER-DAEMON\n"), "the null sender shows as MAILER-DAEMON");
    ok(contains(&out, "(held: milter: nasty attachment)\n"), "the hold reason is shown for its recipients");
    ok(contains(&out, "(temporary failure. Command output: disk full)\n"), "the last error of a deferred recipient");
    /* mailq pads a reason to end in column 76: 76 - 44 characters of text. */
    ok(contains(&out, "\n                                (temporary failure. Command output: disk full)\n"),
       "reasons are right-aligned as mailq aligns them");
    ok(contains(&out, "frank@example.org") && !contains(&out, "grace@example.org"),
       "a delivered recipient is not listed, the deferred one is");
    ok(contains(&out, "bob@example.org\n") && contains(&out, "carol@example.org\n"), "both incoming recipients");
    ok(contains(&out, "\n-- 0 Kbytes in 4 Requests.\n"), "the summary line");

    is_int(run("list --hold", NULL), 0, "list --hold");
    ok(contains(&out, b) && !contains(&out, a) && !contains(&out, c), "only the held message");
    is_int(run("list --deferred", NULL), 0, "list --deferred");
    ok(contains(&out, c) && !contains(&out, a) && !contains(&out, b), "only the deferred message");
    is_int(run("list --all", NULL), 0, "list --all");
    ok(contains(&out, a) && contains(&out, b) && contains(&out, c) && contains(&out, d), "every message");

    is_int(run("list --json", NULL), 0, "list --json");
    {
        char cmd[2048];

        snprintf(cmd, sizeof(cmd),
                 "python3 -c 'import json,sys\n"
                 "m=[json.loads(l) for l in open(sys.argv[1])]\n"
                 "h=[x for x in m if x[\"queue_name\"]==\"hold\"][0]\n"
                 "d=[x for x in m if x[\"queue_name\"]==\"deferred\"][0]\n"
                 "assert len(m)==4\n"
                 "assert h[\"hold_reason\"]==\"milter: nasty attachment\" and h[\"sender\"]==\"\"\n"
                 "assert d[\"recipients\"]==[{\"address\":\"frank@example.org\",\"delay_reason\":\"temporary failure. Command output: disk full\"}]\n"
                 "assert all(type(x[\"arrival_time\"])==int and x[\"message_size\"]>0 for x in m)\n"
                 "' %s/out",
                 dir);
        ok(system(cmd) == 0, "the JSON lines parse and say what postqueue -j says (and hold_reason)");
    }

    snprintf(path, sizeof(path), "show %s", b);
    is_int(run(path, NULL), 0, "show a held message");
    ok(contains(&out, "Queue: hold\n") && contains(&out, "Hold-Reason: milter: nasty attachment\n"),
       "queue and hold reason");
    ok(contains(&out, "Sender: <>\n") && contains(&out, "Recipient: <dave@example.org> NOTIFY=FAILURE\n"),
       "envelope with DSN parameters");
    ok(contains(&out, "Attribute: client_address=192.0.2.7\n") && contains(&out, "Sender-Parameter: BODY=8BITMIME\n"),
       "client attributes and MAIL FROM parameters");
    ok(contains(&out, "\nSubject: held\n") && !contains(&out, "The body line."), "the header, not the body");
    snprintf(path, sizeof(path), "show --body %s", b);
    is_int(run(path, NULL), 0, "show --body");
    ok(contains(&out, "\nSubject: held\n") && contains(&out, "\n\nThe body line.\n"), "header and body");
    snprintf(path, sizeof(path), "show %s", c);
    run(path, NULL);
    ok(contains(&out, "  mailbox frank@example.org: deferred, dsn=4.3.0 (temporary failure. Command output: disk full)\n") &&
           contains(&out, "  mailbox grace@example.org: sent, dsn=2.0.0 (delivered to maildir)\n"),
       "per-target delivery status");

    is_int(run("show 5BLwJc4HQgz1bc5Z", NULL), 1, "show of an unknown id fails (exit 1)");
    ok(contains(&errout, "5BLwJc4HQgz1bc5Z: no such message in the queue"), "and says so");
    is_int(run("show ../etc", NULL), 1, "show of an invalid id fails");
    ok(contains(&errout, "../etc: not a valid queue id"), "and says so");

    /* release */
    snprintf(path, sizeof(path), "release %s", b);
    is_int(run(path, NULL), 0, "release the held message");
    is_string(where(b), QUEUE_INCOMING, "it is in incoming now");
    snprintf(path, sizeof(path), "mtaq: %s: released from hold by uid %ld", b, (long) getuid());
    ok(contains(&errout, path), "one log line");
    snprintf(path, sizeof(path), "show %s", b);
    run(path, NULL);
    ok(!contains(&out, "Hold-Reason"), "the hold reason is gone after the release");
    snprintf(path, sizeof(path), "release %s", b);
    is_int(run(path, NULL), 1, "releasing it again fails");
    ok(contains(&errout, "not on hold (it is in incoming)"), "and says where it is");

    /* hold */
    snprintf(path, sizeof(path), "hold --reason 'looks odd' %s %s", a, d);
    is_int(run(path, NULL), 0, "hold two messages with a reason");
    ok(!strcmp(where(a), QUEUE_HOLD) && !strcmp(where(d), QUEUE_HOLD), "both are in hold (one was active)");
    snprintf(path, sizeof(path), "mtaq: %s: placed on hold by uid %ld: looks odd", a, (long) getuid());
    ok(contains(&errout, path), "a log line per message");
    is_int(run("list --hold", NULL), 0, "list --hold");
    ok(contains(&out, "(held: looks odd)"), "shows the new reason");
    snprintf(path, sizeof(path), "hold %s", a);
    is_int(run(path, NULL), 0, "holding a held message is not an error");
    ok(contains(&errout, "already on hold"), "but says so");

    /* delete, with an unknown id among them */
    snprintf(path, sizeof(path), "delete %s 5BLwJc4HQgz1bc5Z", c);
    is_int(run(path, NULL), 1, "delete with one unknown id: exit 1");
    is_string(where(c), "nowhere", "the known one is deleted anyway");
    snprintf(path, sizeof(path), "mtaq: %s: deleted by uid %ld", c, (long) getuid());
    ok(contains(&errout, path) && contains(&errout, "5BLwJc4HQgz1bc5Z: no such message in the queue"),
       "log line for the delete, error for the unknown id");

    /* flush */
    make_msg("judy@example.org", "ken@example.org", "deferred 2", NULL, c);
    queue_move(qdir, c, QUEUE_INCOMING, QUEUE_DEFERRED, &err);
    is_int(run("flush", NULL), 0, "flush");
    is_string(where(c), QUEUE_INCOMING, "the deferred message is back in incoming");
    snprintf(path, sizeof(path), "mtaq: %s: flushed", c);
    ok(contains(&errout, path), "with a log line");
    is_int(run("flush", NULL), 0, "flush with nothing deferred");
    ok(contains(&errout, "flush: no deferred messages"), "says so");

    /* ids on stdin, release ALL */
    snprintf(path, sizeof(path), "%s\n", a);
    is_int(run("release -", path), 0, "release with the id on stdin");
    is_string(where(a), QUEUE_INCOMING, "released");
    is_int(run("release ALL", NULL), 0, "release ALL");
    is_string(where(d), QUEUE_INCOMING, "the last held message is released too");
    is_int(run("list --hold", NULL), 0, "list --hold");
    is_string(out.data, "Mail queue is empty\n", "nothing on hold any more");

    /* usage */
    is_int(run("", NULL), 2, "no command: usage, exit 2");
    is_int(run("frobnicate", NULL), 2, "unknown command: exit 2");
    is_int(run("list --bogus", NULL), 2, "unknown list option: exit 2");
    is_int(run("show", NULL), 2, "show without an id: exit 2");
    is_int(run("-o no_such_parameter=1 list", NULL), 1, "an unknown parameter is refused");
    ok(contains(&errout, "unknown parameter"), "and named");

    /* the man page */
    snprintf(path, sizeof(path), "mandoc -Tlint -W warning %s/man/mtaq.8 2>&1 | grep -v 'mandoc.db' | grep .", top);
    ok(system(path) != 0, "man/mtaq.8 is clean under mandoc -Tlint");

    snprintf(path, sizeof(path), "rm -rf %s", dir);
    if (tap_failed == 0 && system(path) != 0)
        diag("could not remove %s", dir);
    buf_free(&err);
    buf_free(&args);
    buf_free(&out);
    buf_free(&errout);
    return done_testing();
}
