/*
 * folder_dir.c - Maildir, MH and plain directory folders, and the links
 * that put one message into several of them.
 *
 * Every message is written under a temporary name in the folder (tmp/ for
 * a Maildir, "_PID S TIME.HOST" for MH and plain directories, a name MH
 * readers skip), fsynced, and only then given its real name by link(), so
 * no reader ever sees a partial message and a failed write leaves nothing
 * behind.  (procmail names MH and directory messages first and writes
 * them afterwards.)  The real names are procmail's: new/TIME.PID_N.HOST,
 * the next MH number, $MSGPREFIX plus the inode number.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "procsort/folder.h"
#include "procsort/folder_int.h"
#include "procsort/folder_name.h"

/* dir_mh_highest - the highest message number in an MH folder (0 when none) */
static unsigned long dir_mh_highest(const char *dir, const struct folder_opts *opts)
{
    unsigned long high = 0;
    struct dirent *de;
    DIR *dp;
    char *end;
    long n;

    if ((dp = opendir(dir)) == NULL) {
        folder_logf(&opts->log, FOLDER_LOG_ERROR, "Couldn't read \"%s\"", dir);
        return 0;
    }
    while ((de = readdir(dp)) != NULL) {
        /* strtol() as procmail: " 7" and "+7" count, "07" is 7 */
        n = strtol(de->d_name, &end, 10);
        if (*end == 0 && n > 0 && (unsigned long) n > high)
            high = (unsigned long) n;
    }
    closedir(dp);
    return high;
}

/* dir_mh_link - link old to the next free number in dir; name gets it; 0 or -1 */
static int dir_mh_link(const char *old, const char *dir, const struct folder_opts *opts,
                       struct buf *name)
{
    unsigned long n = dir_mh_highest(dir, opts);
    int ret;

    do {
        buf_reset(name);
        buf_printf(name, "%s/%lu", dir, ++n);
        ret = folder_link(old, name->data);
    } while (ret < 0 && errno == EEXIST);
    return ret;
}

/* dir_name_inode - dir/$MSGPREFIX followed by ino in base 64 */
static void dir_name_inode(struct buf *name, const char *dir, ino_t ino,
                           const struct folder_opts *opts)
{
    buf_reset(name);
    buf_printf(name, "%s/%s", dir, opts->msgprefix ? opts->msgprefix : "msg.");
    folder_name_b64(name, (unsigned long) ino);
}

/* dir_skip_from - the part less a leading From_ line and the '>' lines after it */
static void dir_skip_from(struct folder_msg *part)
{
    size_t p = part->from, end = part->from + part->count;

    if (part->count < 5 || memcmp(part->text + p, "From ", 5) != 0)
        return;
    do {
        while (p < end && part->text[p++] != '\n')
            ;
    } while (p < end && part->text[p] == '>');
    part->count = end - p;
    part->from = p;
}

/* dir_maildir - deliver to a Maildir: tmp/NAME, written and synced, linked to new/NAME */
static int dir_maildir(struct buf *dir, mode_t mode, const struct folder_msg *msg,
                       const struct folder_opts *opts, struct buf *original, long *written,
                       struct buf *err)
{
    struct folder_msg part = *msg;
    struct buf prefix = BUF_INIT, tmp = BUF_INIT;
    struct stat st;
    int tries, fd, ret = -1;

    if (part.from == 0)
        dir_skip_from(&part);
    buf_printf(&prefix, "%s/tmp/", dir->data);
    for (tries = 0; tries <= FOLDER_MAILDIR_TRIES; tries++) {
        fd = folder_name_create(prefix.data, FOLDER_NAME_MAILDIR,
                                FOLDER_FILE_PERM & ~opts->umask, &tmp);
        if (fd < 0)
            break;
        if (folder_dump(fd, FOLDER_MAILDIR, &part, opts, written) < 0 && !opts->ignore_errors) {
            int serrno = errno;

            unlink(tmp.data);
            folder_write_error(opts, serrno, tmp.data, err);
            goto out;
        }
        buf_reset(original);
        buf_printf(original, "%s/new/%s", dir->data, tmp.data + prefix.len);
        if (folder_link(tmp.data, original->data) == 0
            || (errno != EEXIST && lstat(original->data, &st) < 0 && errno == ENOENT
                && rename(tmp.data, original->data) == 0)) {
            unlink(tmp.data);
            folder_sync_dir(original->data);
            folder_logf(&opts->log, FOLDER_LOG_LASTFOLDER, "%s", original->data);
            ret = 0;
            break;
        }
        unlink(tmp.data);
    }
    if (ret < 0) {
        folder_logf(&opts->log, FOLDER_LOG_ERROR, "Couldn't create or rename temp file \"%s\"",
                    tmp.len ? tmp.data : prefix.data);
        buf_printf(err, "cannot create a message in \"%s\"", prefix.data);
        buf_reset(original);
        goto out;
    }
    buf_truncate(&prefix, prefix.len - 1);
    folder_update_mark(prefix.data, mode, opts);
out:
    buf_free(&prefix);
    buf_free(&tmp);
    return ret;
}

/* dir_numbered - deliver to an MH folder or a plain directory */
static int dir_numbered(enum folder_type type, struct buf *dir, mode_t mode,
                        const struct folder_msg *msg, const struct folder_opts *opts,
                        struct buf *original, long *written, struct buf *err)
{
    struct buf prefix = BUF_INIT, tmp = BUF_INIT;
    struct stat st;
    int fd, ret = -1;

    buf_printf(&prefix, "%s/", dir->data);
    fd = folder_name_create(prefix.data, FOLDER_NAME_TEMP, FOLDER_FILE_PERM & ~opts->umask, &tmp);
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0) {
            close(fd);
            unlink(tmp.data);
        }
        goto nfail;
    }
    if (folder_dump(fd, type, msg, opts, written) < 0 && !opts->ignore_errors) {
        int serrno = errno;

        unlink(tmp.data);
        folder_write_error(opts, serrno, tmp.data, err);
        goto out;
    }
    if (type == FOLDER_MH) {
        ret = dir_mh_link(tmp.data, dir->data, opts, original);
    } else {
        dir_name_inode(original, dir->data, st.st_ino, opts);
        ret = folder_link(tmp.data, original->data);
    }
    unlink(tmp.data);
    if (ret < 0)
        goto nfail;
    folder_sync_dir(original->data);
    folder_logf(&opts->log, FOLDER_LOG_LASTFOLDER, "%s", original->data);
    folder_update_mark(dir->data, mode, opts);
    goto out;
nfail:
    folder_logf(&opts->log, FOLDER_LOG_ERROR, "Couldn't create or rename temp file \"%s\"",
                prefix.data);
    buf_printf(err, "cannot create a message in \"%s\"", prefix.data);
    buf_reset(original);
    ret = -1;
out:
    buf_free(&prefix);
    buf_free(&tmp);
    return ret;
}

/* folder_dir_deliver - deliver to a Maildir, MH or plain directory; original gets the file */
int folder_dir_deliver(enum folder_type type, struct buf *dir, mode_t mode,
                       const struct folder_msg *msg, const struct folder_opts *opts,
                       struct buf *original, long *written, struct buf *err)
{
    if (type == FOLDER_MAILDIR)
        return dir_maildir(dir, mode, msg, opts, original, written, err);
    return dir_numbered(type, dir, mode, msg, opts, original, written, err);
}

/* folder_dir_link - hard-link the delivered file original into another directory folder */
void folder_dir_link(enum folder_type type, struct buf *dir, mode_t mode, const char *original,
                     const struct folder_opts *opts, struct buf *lastfolder)
{
    struct buf name = BUF_INIT, prefix = BUF_INIT, marked = BUF_INIT;
    struct stat st;
    int ret, fd;

    buf_set(&marked, dir->data, dir->len);
    if (type == FOLDER_MH) {
        ret = dir_mh_link(original, dir->data, opts, &name);
    } else if (type == FOLDER_MAILDIR) {
        /* A name no one has in tmp/, then the same name in new/. */
        buf_printf(&prefix, "%s/tmp/", dir->data);
        fd = folder_name_create(prefix.data, FOLDER_NAME_MAILDIR,
                                FOLDER_FILE_PERM & ~opts->umask, &name);
        if (fd < 0)
            goto out;
        close(fd);
        unlink(name.data);
        buf_reset(&prefix);
        buf_printf(&prefix, "%s/new/%s", dir->data, name.data + dir->len + 5);
        buf_set(&name, prefix.data, prefix.len);
        buf_addstr(&marked, "/new");
        ret = folder_link(original, name.data);
    } else {
        if (stat(original, &st) < 0)
            goto out;
        dir_name_inode(&name, dir->data, st.st_ino, opts);
        ret = folder_link(original, name.data);
    }
    folder_logf(&opts->log, FOLDER_LOG_VERBOSE, "Linking to \"%s\"", name.data);
    if (ret < 0) {
        folder_logf(&opts->log, FOLDER_LOG_ERROR, "Couldn't make link to \"%s\"", name.data);
    } else {
        buf_printf(lastfolder, " %s", name.data);
        folder_sync_dir(name.data);
    }
    folder_update_mark(marked.data, mode, opts);
out:
    buf_free(&name);
    buf_free(&prefix);
    buf_free(&marked);
}
