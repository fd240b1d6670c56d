/*
 * 452-qmgr.c - the queue manager in an event loop of its own, fed with
 * queue_commit() as smtpd feeds it: local delivery to Maildir, alias
 * fan-out to |command and /file (mbox), a command exiting 75 deferred and
 * retried, a bounce recorded, a held message never delivered until it is
 * released, a message whose first target was already recorded as sent
 * (a crash) delivering only the rest, an expansion cut short by a crash
 * made again (its torn targets forgotten), a corrupt file set aside, 60
 * messages delivered once each, and the Postfix-style log lines.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "libmatch/config.h"
#include "mta-core/params.h"
#include "mta-core/queue.h"
#include "t/lib/tap.h"

static char dir[256];
static char qdir[300];
static struct event_base *base;

static void write_file(const char *name, const char *text, int mode)
{
    char path[512];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fp = fopen(path, "w");
    if (fp == NULL)
        bail("create %s: %s", path, strerror(errno));
    fputs(text, fp);
    fclose(fp);
    chmod(path, mode);
}

/* count - files in dir/sub (0 when it does not exist) */
static int count(const char *sub)
{
    char path[512];
    struct dirent *de;
    DIR *d;
    int n = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    if ((d = opendir(path)) == NULL)
        return 0;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* grep_count - lines of dir/name containing text */
static int grep_count(const char *name, const char *text)
{
    char path[512];
    char line[4096];
    FILE *fp;
    int n = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((fp = fopen(path, "r")) == NULL)
        return 0;
    while (fgets(line, sizeof(line), fp))
        if (strstr(line, text))
            n++;
    fclose(fp);
    return n;
}

/* grep_prefix - lines of dir/name starting with text */
static int grep_prefix(const char *name, const char *text)
{
    char path[512];
    char line[4096];
    FILE *fp;
    int n = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((fp = fopen(path, "r")) == NULL)
        return 0;
    while (fgets(line, sizeof(line), fp))
        if (strncmp(line, text, strlen(text)) == 0)
            n++;
    fclose(fp);
    return n;
}

/* submit - queue one message as smtpd would; its id */
static void submit(const char *sender, const char *rcpts, const char *body, const char *hold, char *id)
{
    struct buf err = BUF_INIT;
    struct queue_file *qf = queue_create(qdir, &err);
    char *copy, *save = NULL, *r;

    if (qf == NULL)
        bail("queue_create: %s", err.data);
    snprintf(id, QUEUE_ID_SIZE, "%s", queue_file_id(qf));
    queue_set_sender(qf, sender);
    queue_add_attr(qf, "client_address", "192.0.2.1");
    copy = strdup(rcpts);
    for (r = strtok_r(copy, " ", &save); r; r = strtok_r(NULL, " ", &save))
        queue_add_rcpt(qf, r, 0, NULL);
    free(copy);
    queue_write(qf, body, strlen(body));
    if (hold)
        queue_set_hold(qf, hold);
    if (queue_commit(qf, &err) < 0)
        bail("queue_commit: %s", err.data);
    qmgr_kick();
    buf_free(&err);
}

static int queue_empty(void)
{
    return count("q/incoming") == 0 && count("q/active") == 0 && count("q/deferred") == 0;
}

/* run_until - run the loop until cond() holds or seconds pass; whether it held */
static int run_until(int (*cond)(void), int seconds)
{
    struct timeval slice = {0, 100000};
    int i;

    for (i = 0; i < seconds * 10; i++) {
        event_base_loopexit(base, &slice);
        event_base_dispatch(base);
        if (cond())
            return 1;
    }
    return 0;
}

static int flaky_done(void)
{
    return grep_count("log", "to=<flaky@example.org>") >= 2 && queue_empty();
}

static const char *msg_body = "Subject: test\nFrom: sender@remote.example\n\nHello.\nFrom the body.\n";

int main(void)
{
    struct buf err = BUF_INIT, set = BUF_INIT;
    struct config *cfg;
    char id[QUEUE_ID_SIZE], id2[QUEUE_ID_SIZE];
    const char *tmp = getenv("TMPDIR");
    char path[1024];
    int i;

    snprintf(dir, sizeof(dir), "%s/mailsift-452-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        bail("mkdtemp: %s", strerror(errno));
    snprintf(qdir, sizeof(qdir), "%s/q", dir);
    /* The log: every msg_* line goes to stderr, and stderr to a file. */
    snprintf(path, sizeof(path), "%s/log", dir);
    if (freopen(path, "w", stderr) == NULL)
        bail("freopen: %s", strerror(errno));
    setvbuf(stderr, NULL, _IOLBF, 0);

    write_file("flaky.sh",
               "#!/bin/sh\n"
               "# fails (75) the first time, delivers the second\n"
               "d=$(dirname \"$0\")\n"
               "if [ ! -e \"$d/flaky.once\" ]; then : > \"$d/flaky.once\"; echo 'try later' ; exit 75; fi\n"
               "cat > \"$d/flaky.out\"\n", 0755);
    write_file("env.sh", "#!/bin/sh\nenv > \"$(dirname \"$0\")/env.out\"\ncat > \"$(dirname \"$0\")/pipe.out\"\n", 0755);
    snprintf(path, sizeof(path),
             "team: alice, bob\n"
             "pipe: \"|%s/env.sh\"\n"
             "tofile: %s/file.mbox\n"
             "flaky: |%s/flaky.sh\n"
             "fails: |exit 67\n"
             "loopa: loopb\n"
             "loopb: loopa\n",
             dir, dir, dir);
    write_file("aliases", path, 0644);

    cfg = config_new(mta_params);
#define SET(...)                                                                                             \
    do {                                                                                                     \
        buf_reset(&set);                                                                                     \
        buf_printf(&set, __VA_ARGS__);                                                                       \
        if (config_set(cfg, set.data, &err) < 0)                                                             \
            bail("config: %s", err.data);                                                                    \
    } while (0)
    SET("queue_directory = %s", qdir);
    SET("home_base = %s/home", dir);
    SET("alias_maps = %s/aliases", dir);
    SET("myhostname = mx.example.org");
    SET("mydomain = example.org");
    SET("mydestination = example.org");
    SET("myorigin = example.org");
    SET("home_mailbox = Maildir/");
    SET("recipient_delimiter = +");
    SET("minimal_backoff_time = 1s");
    SET("maximal_backoff_time = 1s");
    SET("queue_run_delay = 1s");
    SET("local_destination_concurrency_limit = 4");

    base = event_base_new();
    qmgr_start(base, cfg);
    ok(count("q/incoming") == 0 && access(qdir, F_OK) == 0, "qmgr_start created the queue directories");

    /* Maildir delivery. */
    submit("sender@remote.example", "alice@example.org", msg_body, NULL, id);
    ok(run_until(queue_empty, 10), "the message left the queue");
    is_int(count("home/alice/Maildir/new"), 1, "one message in alice's Maildir/new");
    {
        char cmd[1024];
        FILE *fp;
        char line[512];
        int seen_rp = 0, seen_dt = 0, seen_xot = 0, seen_body = 0;

        snprintf(cmd, sizeof(cmd), "cat %s/home/alice/Maildir/new/*", dir);
        fp = popen(cmd, "r");
        while (fp && fgets(line, sizeof(line), fp)) {
            if (strcmp(line, "Return-Path: <sender@remote.example>\n") == 0)
                seen_rp = 1;
            if (strcmp(line, "Delivered-To: alice@example.org\n") == 0)
                seen_dt = 1;
            if (strcmp(line, "X-Original-To: alice@example.org\n") == 0)
                seen_xot = 1;
            if (strcmp(line, "From the body.\n") == 0)
                seen_body = 1;
        }
        if (fp)
            pclose(fp);
        ok(seen_rp && seen_dt && seen_xot, "Return-Path, X-Original-To and Delivered-To prepended");
        ok(seen_body, "the body is there, not From_-quoted in a Maildir");
    }
    snprintf(path, sizeof(path), "%s: from=<sender@remote.example>, size=%zu, nrcpt=1 (queue active)", id,
             strlen(msg_body));
    is_int(grep_count("log", path), 1, "log: from=, size=, nrcpt= (queue active)");
    snprintf(path, sizeof(path), "%s: to=<alice@example.org>, relay=local, delay=", id);
    is_int(grep_count("log", path), 1, "log: to=<...>, relay=local, delay=");
    is_int(grep_count("log", "dsn=2.0.0, status=sent (delivered to maildir)"), 1, "log: dsn=2.0.0, status=sent");
    snprintf(path, sizeof(path), "%s: removed", id);
    is_int(grep_count("log", path), 1, "log: removed");

    /* Aliases: fan-out, a command with local(8)'s environment, an mbox file. */
    submit("sender@remote.example", "team@example.org pipe+ext@example.org tofile@example.org", msg_body, NULL, id);
    ok(run_until(queue_empty, 10), "the fan-out message left the queue");
    is_int(count("home/bob/Maildir/new"), 1, "bob got it");
    is_int(count("home/alice/Maildir/new"), 2, "alice got it");
    is_int(grep_count("pipe.out", "Hello."), 1, "the command got the message");
    is_int(grep_count("pipe.out", "From sender@remote.example  "), 1, "with a From_ line (two spaces, as Postfix)");
    is_int(grep_prefix("env.out", "SENDER=sender@remote.example\n"), 1, "SENDER set");
    is_int(grep_prefix("env.out", "RECIPIENT=pipe+ext@example.org\n"), 1, "RECIPIENT set");
    is_int(grep_prefix("env.out", "EXTENSION=ext\n"), 1, "EXTENSION set");
    is_int(grep_prefix("env.out", "USER=pipe\n"), 1, "USER is the local name without extension");
    is_int(grep_prefix("env.out", "ORIGINAL_RECIPIENT=pipe+ext@example.org\n"), 1, "ORIGINAL_RECIPIENT set");
    is_int(grep_prefix("env.out", "CLIENT_ADDRESS=192.0.2.1\n"), 1, "CLIENT_ADDRESS set");
    is_int(grep_prefix("env.out", "DOMAIN=example.org\n"), 1, "DOMAIN set");
    is_int(grep_count("file.mbox", "From sender@remote.example  "), 1, "the /file got an mbox From_ line");
    is_int(grep_count("file.mbox", ">From the body."), 1, "and From_ quoting in the body");
    is_int(grep_count("log", "orig_to=<team@example.org>"), 2, "log: orig_to= for the fan-out");
    is_int(grep_count("log", "status=sent (delivered to command: "), 1, "log: delivered to command");
    is_int(grep_count("log", "status=sent (delivered to file: "), 1, "log: delivered to file");

    /* Exit 75: deferred, retried, delivered once. */
    submit("sender@remote.example", "flaky@example.org", msg_body, NULL, id);
    ok(run_until(flaky_done, 15), "the flaky command was retried until it delivered");
    is_int(grep_count("log", "to=<flaky@example.org>, relay=local"), 2, "two attempts logged");
    is_int(grep_count("log", "dsn=4.3.0, status=deferred (temporary failure. Command output: try later)"), 1,
           "log: status=deferred with the command's output");
    is_int(grep_count("flaky.out", "Hello."), 1, "delivered once");

    /* Bounces: a command exiting 67, an alias loop. */
    submit("sender@remote.example", "fails@example.org loopa@example.org", msg_body, NULL, id);
    ok(run_until(queue_empty, 10), "the bounced message left the queue");
    is_int(grep_count("log", "dsn=5.1.1, status=bounced (user unknown)"), 1, "exit 67 (EX_NOUSER) bounces with 5.1.1");
    is_int(grep_count("log", "dsn=5.4.6, status=bounced (alias database loop for loopa@example.org)"), 1,
           "an alias loop bounces with 5.4.6");

    /* Hold: never delivered until released. */
    submit("sender@remote.example", "carol@example.org", msg_body, "milter said so", id);
    run_until(queue_empty, 3);
    is_int(count("q/hold"), 1, "the held message stays in hold");
    is_int(count("home/carol/Maildir/new"), 0, "and is not delivered");
    ok(queue_move(qdir, id, QUEUE_HOLD, QUEUE_INCOMING, &err) == 0, "release (as mtaq does: rename into incoming)");
    ok(run_until(queue_empty, 5), "the released message is picked up without a kick");
    is_int(count("home/carol/Maildir/new"), 1, "and delivered");

    /* A crash after the first of two deliveries: only the second is made. */
    qmgr_stop();
    submit("sender@remote.example", "dave@example.org erin@example.org", msg_body, NULL, id2);
    {
        int fd;

        snprintf(path, sizeof(path), "%s/incoming/%s", qdir, id2);
        fd = open(path, O_WRONLY | O_APPEND);
        queue_append_target(fd, 0, "mailbox", 0, 0, "dave@example.org", "dave@example.org", &err);
        queue_append_target(fd, 1, "mailbox", 0, 0, "erin@example.org", "erin@example.org", &err);
        queue_append(fd, 'K', "2", 1, &err);
        queue_append_status(fd, 0, "sent", "2.0.0", 1, "delivered to maildir", &err);
        close(fd);
        rename(path, (snprintf(path + 512, 512, "%s/active/%s", qdir, id2), path + 512));
    }
    /* And a crash in the middle of an expansion: targets without their K record, torn. */
    submit("sender@remote.example", "frank@example.org", msg_body, NULL, id);
    {
        int fd;

        snprintf(path, sizeof(path), "%s/incoming/%s", qdir, id);
        fd = open(path, O_WRONLY | O_APPEND);
        queue_append_target(fd, 0, "mailbox", 0, 0, "frank@example.org", "mallory@example.org", &err);
        if (write(fd, "K1", 2) != 2)
            bail("write: %s", strerror(errno));
        close(fd);
    }
    qmgr_start(base, cfg);
    ok(run_until(queue_empty, 10), "after the restart the message left the queue");
    is_int(count("home/dave/Maildir/new"), 0, "dave, recorded as delivered, gets nothing again");
    is_int(count("home/erin/Maildir/new"), 1, "erin gets the message");
    is_int(grep_count("log", "unfinished message from the active queue taken up again"), 1,
           "log: the active queue was taken up again");
    is_int(count("home/frank/Maildir/new"), 1, "an expansion cut short is made again: frank gets it");
    is_int(count("home/mallory/Maildir/new"), 0, "and the target of the torn expansion is forgotten");

    /* A corrupt file is set aside. */
    write_file("q/incoming/BBBBBBBBBBzB", "V1:1\nnonsense", 0600);
    qmgr_kick();
    run_until(queue_empty, 3);
    is_int(count("q/corrupt"), 1, "a corrupt file goes to corrupt/");
    is_int(grep_count("log", "BBBBBBBBBBzB: corrupt queue file"), 1, "and the log says so");

    /* Many at once: each delivered exactly once. */
    for (i = 0; i < 60; i++) {
        char rcpt[64];

        snprintf(rcpt, sizeof(rcpt), "user%d@example.org", i % 6);
        submit("sender@remote.example", rcpt, msg_body, NULL, id);
    }
    ok(run_until(queue_empty, 60), "60 messages left the queue");
    {
        int total = 0;

        for (i = 0; i < 6; i++) {
            snprintf(path, sizeof(path), "home/user%d/Maildir/new", i);
            total += count(path);
        }
        is_int(total, 60, "60 deliveries, no loss, no duplicate");
    }
    qmgr_stop();
    event_base_free(base);
    config_free(cfg);
    buf_free(&err);
    buf_free(&set);
    if (tap_failed == 0 && !getenv("KEEP_TMP")) {
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            diag("could not remove %s", dir);
    } else {
        diag("kept %s (log in %s/log)", dir, dir);
    }
    return done_testing();
}
