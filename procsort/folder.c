/*
 * folder.c - deliver to the folders of one action line, as procmail's
 * writefolder() and foldertype() do.
 *
 * This file decides what each name is (procmail's foldertype: the
 * spelling first, then what is on disk, making directories as needed),
 * hands the first folder to folder_mbox.c or folder_dir.c and links the
 * message into the others.  See folder.h for the rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "procsort/folder.h"
#include "procsort/folder_int.h"

#define DEV_NULL "/dev/null"
#define MKDIR_TRIES 3

/* folder_opts_init - procmail's defaults */
void folder_opts_init(struct folder_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->umask = 077;
    opts->lockext = ".lock";
    opts->msgprefix = "msg.";
    opts->locktimeout = 1024;
    opts->locksleep = 8;
    opts->suspend = 16;
    opts->timeout = 960;
}

/* folder_msg_whole - describe a whole message for delivery */
void folder_msg_whole(struct folder_msg *msg, const char *text, size_t len, size_t start,
                      size_t body, size_t escape)
{
    msg->text = text;
    msg->len = len;
    msg->start = start;
    msg->body = body;
    msg->escape = escape;
    msg->from = 0;
    msg->count = len;
}

/* folder_parse - the type a name asks for; base gets the name less "/", "/." and extra '/' */
enum folder_type folder_parse(const char *name, struct buf *base)
{
    size_t len = strlen(name), end = len;
    enum folder_type type = FOLDER_FILE;

    if (len == 2 && name[1] == '/') {
        end = 1;
        type = FOLDER_MAILDIR;
    } else if (len > 2) {
        if (name[len - 1] == '.' && name[len - 2] == '/') {
            end = len - 2;
            type = FOLDER_MH;
        } else if (name[len - 1] == '/') {
            end = len - 1;
            type = FOLDER_MAILDIR;
        }
        if (type != FOLDER_FILE)
            while (end > 1 && name[end - 1] == '/')
                end--;
    }
    buf_set(base, name, end);
    return type;
}

/* folder_mkdir - procmail's trymkdir(): the mode of dir, made if missing; 0 when neither */
mode_t folder_mkdir(const char *dir, mode_t umask_)
{
    struct stat st;
    int tries;

    for (tries = 0; tries < MKDIR_TRIES; tries++) {
        if (stat(dir, &st) == 0)
            return st.st_mode;
        if (errno != ENOENT)
            break;
        if (mkdir(dir, FOLDER_DIR_PERM) == 0)
            return S_IFDIR | (FOLDER_DIR_PERM & ~umask_);
    }
    return 0;
}

/* folder_mkmaildir - make dir/new, cur, tmp; dir ends as dir/tmp, or the part that failed */
int folder_mkmaildir(struct buf *dir, const struct folder_opts *opts)
{
    static const char *const sub[] = { "/new", "/cur", "/tmp" };
    size_t base = dir->len;
    unsigned i;

    for (i = 0; i < 3; i++) {
        buf_truncate(dir, base);
        buf_addstr(dir, sub[i]);
        if (!S_ISDIR(folder_mkdir(dir->data, opts->umask)))
            return -1;
    }
    return 0;
}

/* folder_update_mark - procmail's new-mail mark: o+x when UMASK and mode both lack it */
void folder_update_mark(const char *path, mode_t mode, const struct folder_opts *opts)
{
    if (!(FOLDER_UPDATE_MASK & (mode | opts->umask)))
        (void) chmod(path, (mode | FOLDER_UPDATE_MASK) & 07777);
}

/* folder_link - link(old, new), NFS-resistant as procmail's rlink(); 0 or -1 */
int folder_link(const char *old, const char *new)
{
    struct stat so, sn;
    int serrno;

    if (link(old, new) == 0)
        return 0;
    serrno = errno;
    if (lstat(old, &so) == 0 && lstat(new, &sn) == 0 && so.st_dev == sn.st_dev
        && so.st_ino == sn.st_ino && !S_ISLNK(so.st_mode))
        return 0;
    errno = serrno;
    return -1;
}

/* folder_sync_dir - fsync the directory holding path (or path itself when it ends in '/') */
void folder_sync_dir(const char *path)
{
    struct buf dir = BUF_INIT;
    const char *slash = strrchr(path, '/');
    int fd;

    if (slash == NULL)
        buf_addch(&dir, '.');
    else if (slash == path)
        buf_addch(&dir, '/');
    else
        buf_add(&dir, path, (size_t) (slash - path));
    fd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void) fsync(fd);
        close(fd);
    }
    buf_free(&dir);
}

/* folder_write_error - log a failed write in procmail's words */
void folder_write_error(const struct folder_opts *opts, int serrno, const char *name,
                        struct buf *err)
{
    switch (serrno) {
    case ENOSPC:
        folder_logf(&opts->log, FOLDER_LOG_ERROR, "No space left to finish writing \"%s\"", name);
        break;
#ifdef EDQUOT
    case EDQUOT:
        folder_logf(&opts->log, FOLDER_LOG_ERROR, "Quota exceeded while writing \"%s\"", name);
        break;
#endif
    default:
        folder_logf(&opts->log, FOLDER_LOG_ERROR, "Error while writing to \"%s\"", name);
    }
    if (err->len == 0)
        buf_printf(err, "error writing to \"%s\": %s", name, strerror(serrno));
}

/* folder_resolve - procmail's foldertype(): what base is on disk, made a directory as needed */
static int folder_resolve(enum folder_type *type, struct buf *base, int forcedir, mode_t *modep,
                          const struct folder_opts *opts)
{
    struct stat st;
    size_t baselen = base->len;
    mode_t mode = 0;

    if (*type == FOLDER_FILE) {
        if (!forcedir) {
            if (stat(base->data, &st) < 0) {
                *modep = S_IFREG | (FOLDER_FILE_PERM & ~opts->umask);
                return 0;
            }
            if (!S_ISDIR(st.st_mode)) {
                *modep = st.st_mode;
                return 0;
            }
            *type = FOLDER_DIR;
            *modep = st.st_mode;
            return 0;
        }
        *type = FOLDER_DIR;
    }
    mode = folder_mkdir(base->data, opts->umask);
    if (S_ISDIR(mode) && *type == FOLDER_MAILDIR) {
        if (folder_mkmaildir(base, opts) == 0) {
            buf_truncate(base, baselen);
            *modep = mode;
            return 0;
        }
        folder_logf(&opts->log, FOLDER_LOG_ERROR, "Unable to treat as directory \"%s\"",
                    base->data);
        buf_truncate(base, baselen);
        forcedir = 1;
    } else if (S_ISDIR(mode)) {
        *modep = mode;
        return 0;
    } else {
        folder_logf(&opts->log, FOLDER_LOG_ERROR, "Unable to treat as directory \"%s\"",
                    base->data);
    }
    if (forcedir) {
        folder_logf(&opts->log, FOLDER_LOG_ERROR, "Skipped \"%s\"", base->data);
        return -1;
    }
    /* An MH or Maildir name that is a file (or cannot be made) is an mbox. */
    *type = FOLDER_FILE;
    *modep = mode ? mode : S_IFREG | (FOLDER_FILE_PERM & ~opts->umask);
    return 0;
}

/* folder_deliver - deliver msg to names[0] and link it into names[1..n-1] */
int folder_deliver(const char *const *names, int n, const struct folder_msg *msg,
                   const struct folder_opts *opts, struct buf *lastfolder, long *written,
                   struct buf *err)
{
    struct buf base = BUF_INIT, original = BUF_INIT, others = BUF_INIT;
    struct sigaction ign, old;
    enum folder_type type;
    long dummy;
    mode_t mode = 0;
    int i, ret = -1;

    buf_reset(lastfolder);
    if (written == NULL)
        written = &dummy;
    *written = 0;
    if (n < 1) {
        buf_printf(err, "no folder to deliver to");
        return -1;
    }
    /* A write beyond RLIMIT_FSIZE must fail with EFBIG, not kill us mid-message. */
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, &old);

    type = folder_parse(names[0], &base);
    if (folder_resolve(&type, &base, 0, &mode, opts) < 0) {
        buf_printf(err, "cannot deliver to \"%s\"", names[0]);
        goto out;
    }
    if (type == FOLDER_FILE) {
        if (n > 1) {
            for (i = 1; i < n; i++)
                buf_printf(&others, "%s%s", i > 1 ? " " : "", names[i]);
            if (others.len)
                folder_logf(&opts->log, FOLDER_LOG_ERROR, "Skipped \"%s\"", others.data);
        }
        ret = folder_mbox(base.data, mode, msg, opts, written, err);
        buf_setstr(lastfolder, base.data);
        goto out;
    }
    ret = folder_dir_deliver(type, &base, mode, msg, opts, &original, written, err);
    if (ret < 0 || original.len == 0)
        goto out;
    buf_set(lastfolder, original.data, original.len);
    for (i = 1; i < n; i++) {
        type = folder_parse(names[i], &base);
        if (folder_resolve(&type, &base, 1, &mode, opts) < 0)
            continue;
        folder_dir_link(type, &base, mode, original.data, opts, lastfolder);
    }
out:
    sigaction(SIGXFSZ, &old, NULL);
    buf_free(&base);
    buf_free(&original);
    buf_free(&others);
    return ret;
}
