/*
 * procdiff-deliver.c - procsort's folder writer alone, driven the way one
 * procmailrc recipe drives procmail's, for the folder-level differential
 * test (t/351-folder-diff.t).  It does what this rc would make procmail do,
 * in MAILDIR = the current directory:
 *
 *   LOGFILE=errors
 *   UMASK=<-u>  MSGPREFIX=<-p>  LOCKEXT=<-e>
 *   :0 c<FLAGS>[:]            (-F FLAGS: h b r i; -L: the ':' lockfile)
 *   name...
 *   LOGFILE=lastfolder
 *   LOG="$LASTFOLDER
 *   "
 *
 * The message is read from stdin by procsort's mail_read (-Y: Berkeley
 * format, -f: the sender).  -l names another log than "errors".  Errors
 * are logged as procsort logs them, with "procsort: " in front.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "procsort/folder.h"
#include "procsort/lock.h"
#include "procsort/mail.h"

static int log_fd = -1;

static void log_line(void *arg, int level, const char *line)
{
    struct buf b = BUF_INIT;

    (void) arg;
    if (level == FOLDER_LOG_VERBOSE || level == FOLDER_LOG_LASTFOLDER || log_fd < 0)
        return;
    buf_printf(&b, "procsort: %s\n", line);
    if (write(log_fd, b.data, b.len) < 0)
        perror("log");
    buf_free(&b);
}

int main(int argc, char **argv)
{
    struct mail mail;
    struct mail_from from;
    struct folder_opts o;
    struct folder_msg m;
    struct lock_opts lo;
    struct buf last = BUF_INIT, err = BUF_INIT, lockname = BUF_INIT;
    const char *flags = "", *logname = "errors";
    int ch, berkeley = 0, lock = 0, locked = 0, fd, head, body;
    mode_t um = 077;
    long written;

    folder_opts_init(&o);
    memset(&from, 0, sizeof(from));
    from.invoker = getenv("LOGNAME") ? getenv("LOGNAME") : "nobody";
    from.now = (long) time(NULL);
    while ((ch = getopt(argc, argv, "Yf:F:u:p:e:Ll:")) != -1) {
        switch (ch) {
        case 'Y': berkeley = 1; break;
        case 'f': from.sender = optarg; break;
        case 'F': flags = optarg; break;
        case 'u': um = (mode_t) strtoul(optarg, NULL, 8); break;
        case 'p': o.msgprefix = optarg; break;
        case 'e': o.lockext = optarg; break;
        case 'L': lock = 1; break;
        case 'l': logname = optarg; break;
        default:
            fprintf(stderr, "usage: procdiff-deliver [-Y] [-f from] [-F hbri] [-u umask] "
                            "[-p msgprefix] [-e lockext] [-L] [-l log] folder...\n");
            return 64;
        }
    }
    if (optind >= argc)
        return 64;
    umask(077);
    log_fd = open(logname, O_WRONLY | O_APPEND | O_CREAT, 0667);
    umask(um);
    o.umask = um;
    o.log.fn = log_line;
    o.raw = strchr(flags, 'r') != NULL;
    o.ignore_errors = strchr(flags, 'i') != NULL;

    mail_init(&mail);
    mail.berkeley = berkeley;
    if (mail_read(&mail, 0, &from, &err) < 0) {
        fprintf(stderr, "%s\n", err.data);
        return 75;
    }
    folder_msg_whole(&m, mail.text.data, mail.text.len, mail.start, mail.body, mail.escape);
    head = strchr(flags, 'h') != NULL;
    body = strchr(flags, 'b') != NULL;
    if (head && !body) {
        m.count = mail.body;
    } else if (body && !head) {
        m.from = mail.body;
        m.count = mail.text.len - mail.body;
    }
    lock_opts_init(&lo);
    lo.umask = um;
    lo.log = o.log;
    lo.sleep = 1;
    if (lock && strcmp(argv[optind], "/dev/null") != 0) {
        buf_printf(&lockname, "%s%s", argv[optind], o.lockext);
        locked = lock_acquire(lockname.data, &lo, &err) == 0;
    }
    folder_deliver((const char *const *) argv + optind, argc - optind, &m, &o, &last, &written,
                   &err);
    if (locked)
        lock_release(lockname.data, &lo);
    close(log_fd);
    fd = open("lastfolder", O_WRONLY | O_APPEND | O_CREAT, 0667);
    buf_addch(&last, '\n');
    if (fd < 0 || write(fd, last.data, last.len) < 0)
        perror("lastfolder");
    close(fd);
    buf_free(&last);
    buf_free(&err);
    buf_free(&lockname);
    mail_free(&mail);
    return 0;
}
