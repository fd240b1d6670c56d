/*
 * 358-folder-screen.c - the system mailbox screening procmail(1) documents
 * and procsort does before a delivery as root: a missing mailbox is made
 * (0600, the recipient's); one that is someone else's, unwritable, a
 * symlink or a hard link is renamed BOGUS.$LOGNAME.INODE and replaced;
 * too loose permissions are tightened unless u+x is set; setuid means
 * autoforwarding; a stranger's lockfile is moved away; Maildir and MH
 * names are left alone; the group the mailbox's lockfile needs is the
 * setgid spool's, the recipient's in a world-writable one.  Needs root
 * (to chown to a recipient).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "procsort/folder.h"
#include "procsort/folder_name.h"
#include "t/lib/tap.h"

#define RCPT_UID 54321
#define RCPT_GID 54321

static char spool[256], box[300];
static gid_t sgid; /* the lockfile's group screen() reported */
static struct buf logged = BUF_INIT;

static void log_line(void *arg, int level, const char *line)
{
    (void) arg;
    (void) level;
    buf_printf(&logged, "%s\n", line);
}

static int screen(void)
{
    struct folder_opts o;

    folder_opts_init(&o);
    o.suspend = 0;
    o.log.fn = log_line;
    buf_reset(&logged);
    return folder_screen_mailbox(box, RCPT_UID, RCPT_GID, "rcpt", &o, &sgid);
}

static void make_box(mode_t mode, uid_t uid)
{
    int fd;

    unlink(box);
    fd = open(box, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, "x\n", 2) != 2)
        bail("make %s: %s", box, strerror(errno));
    close(fd);
    if (chown(box, uid, RCPT_GID) < 0 || chmod(box, mode) < 0)
        bail("chown/chmod %s: %s", box, strerror(errno));
}

static int bogus_count(void)
{
    DIR *d = opendir(spool);
    struct dirent *de;
    int n = 0;

    while (d && (de = readdir(d)))
        n += strncmp(de->d_name, "BOGUS.rcpt.", 11) == 0;
    if (d)
        closedir(d);
    return n;
}

static void clear_bogus(void)
{
    DIR *d = opendir(spool);
    struct dirent *de;
    char p[600];

    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, "BOGUS.", 6) == 0) {
            snprintf(p, sizeof(p), "%s/%s", spool, de->d_name);
            unlink(p);
        }
    }
    if (d)
        closedir(d);
}

static int mode_of(const char *p)
{
    struct stat st;

    return lstat(p, &st) == 0 ? (int) (st.st_mode & 07777) : -1;
}

static long owner_of(const char *p)
{
    struct stat st;

    return lstat(p, &st) == 0 ? (long) st.st_uid : -1;
}

/* A new mailbox in the setgid spool: 0660, the recipient's, in the spool's group (as Debian's procmail). */
static void fresh_box_ok(const char *what)
{
    struct stat st, sp;

    ok(lstat(box, &st) == 0 && stat(spool, &sp) == 0 && S_ISREG(st.st_mode) && st.st_uid == RCPT_UID
           && st.st_gid == sp.st_gid && st.st_nlink == 1 && (st.st_mode & 07777) == 0660
           && st.st_size == 0,
       "%s: a new empty 0660 mailbox of the recipient's, in the spool's group", what);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    struct buf lock = BUF_INIT, other = BUF_INIT;
    struct stat st;

    if (geteuid() != 0)
        skip_all("needs root to give the mailbox to a recipient");
    snprintf(spool, sizeof(spool), "%s/mailsift-358.XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(spool))
        bail("mkdtemp: %s", strerror(errno));
    chmod(spool, 02775); /* like /var/mail: root:mail 2775 */
    snprintf(box, sizeof(box), "%s/rcpt", spool);

    is_int(screen(), 0, "a missing mailbox is made");
    fresh_box_ok("missing");
    ok(stat(spool, &st) == 0 && sgid == st.st_gid, "its lockfile needs the setgid spool's group (%ld)",
       (long) sgid);

    make_box(0600, RCPT_UID);
    is_int(screen(), 0, "a good mailbox passes");
    is_string(logged.data, "", "silently");
    is_int(bogus_count(), 0, "and stays where it is");

    make_box(0600, 0);
    is_int(screen(), 0, "a mailbox someone else owns is bogus");
    is_int(bogus_count(), 1, "it is renamed BOGUS.rcpt.INODE");
    ok(strstr(logged.data, "Renaming bogus mailbox \"") != NULL, "logged as procmail does: %s",
       logged.data);
    fresh_box_ok("stranger's");
    clear_bogus();

    make_box(0400, RCPT_UID);
    screen();
    is_int(bogus_count(), 1, "an unwritable mailbox is bogus");
    fresh_box_ok("unwritable");
    clear_bogus();

    buf_printf(&other, "%s/elsewhere", spool);
    close(open(other.data, O_CREAT | O_WRONLY, 0600));
    chown(other.data, RCPT_UID, RCPT_GID);
    unlink(box);
    if (symlink(other.data, box) < 0)
        bail("symlink: %s", strerror(errno));
    lchown(box, RCPT_UID, RCPT_GID);
    screen();
    is_int(bogus_count(), 1, "a symlink is bogus (even to the recipient's own file)");
    fresh_box_ok("symlink");
    clear_bogus();

    unlink(box);
    if (link(other.data, box) < 0)
        bail("link: %s", strerror(errno));
    screen();
    is_int(bogus_count(), 1, "a hard link is bogus");
    fresh_box_ok("hard link");
    ok(stat(other.data, &st) == 0 && S_ISREG(st.st_mode), "the other name keeps its file");
    clear_bogus();

    make_box(0646, RCPT_UID);
    screen();
    is_int(mode_of(box), 0640, "too loose permissions are tightened (UMASK 007 in a setgid spool)");
    ok(strstr(logged.data, "Enforcing stricter permissions on \"") != NULL, "and logged");
    make_box(0660, RCPT_UID);
    screen();
    is_int(mode_of(box), 0660, "group read/write is fine in a group-writable spool");
    make_box(0744, RCPT_UID);
    screen();
    is_int(mode_of(box), 0744, "u+x keeps loose permissions as they are");

    make_box(04600, RCPT_UID);
    is_int(screen(), FOLDER_SCREEN_AUTOFORWARD, "a setuid mailbox means autoforwarding");
    make_box(02600, RCPT_UID);
    is_int(screen(), FOLDER_SCREEN_AUTOFORWARD, "so does a setgid one");

    make_box(0600, RCPT_UID);
    buf_printf(&lock, "%s.lock", box);
    close(open(lock.data, O_CREAT | O_WRONLY, 0444));
    chown(lock.data, 4242, 4242);
    screen();
    ok(access(lock.data, F_OK) < 0 && bogus_count() == 1, "a stranger's lockfile is moved away");
    clear_bogus();
    close(open(lock.data, O_CREAT | O_WRONLY, 0444));
    chown(lock.data, RCPT_UID, RCPT_GID);
    screen();
    ok(access(lock.data, F_OK) == 0, "the recipient's own lockfile stays");
    unlink(lock.data);

    /* A world-writable spool (1777, like /tmp): UMASK stays 077, the recipient's group. */
    chmod(spool, 01777);
    unlink(box);
    is_int(screen(), 0, "in a world-writable spool, a missing mailbox is made");
    is_int((long) sgid, RCPT_GID, "and its lockfile needs no other group than the recipient's");
    ok(lstat(box, &st) == 0 && st.st_uid == RCPT_UID && st.st_gid == RCPT_GID
           && (st.st_mode & 07777) == 0600,
       "0600, the recipient's, in the recipient's group");
    make_box(0644, RCPT_UID);
    screen();
    is_int(mode_of(box), 0600, "too loose permissions are tightened to 0600 there");
    chmod(spool, 02775);

    snprintf(box, sizeof(box), "%s/md/", spool);
    is_int(screen(), 0, "a Maildir name is not screened");
    ok(access(box, F_OK) < 0, "nor made");
    snprintf(box, sizeof(box), "%s/nodir/rcpt", spool);
    chmod(spool, 0755);
    is_int(screen(), 0, "a missing spool directory is made, then the mailbox");
    is_int(owner_of(box), RCPT_UID, "the recipient's");

    if (!getenv("KEEP_TMP")) {
        char cmd[400];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", spool);
        if (system(cmd) != 0)
            diag("could not remove %s", spool);
    }
    buf_free(&lock);
    buf_free(&other);
    return done_testing();
}
