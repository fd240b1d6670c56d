/*
 * folder_int.h - what the folder*.c files share and nobody else uses.
 */
#ifndef PROCSORT_FOLDER_INT_H
#define PROCSORT_FOLDER_INT_H

#include <sys/stat.h>

#include "libmatch/buf.h"
#include "procsort/folder.h"

#define FOLDER_FILE_PERM 0667  /* procmail's NORMperm: rw for all, and o+x */
#define FOLDER_DIR_PERM 0777   /* NORMdirperm */
#define FOLDER_UPDATE_MASK S_IXOTH /* set on a folder when mail arrived */
#define FOLDER_MAILDIR_TRIES 5 /* MAILDIRretries */

int folder_write(int fd, enum folder_type type, const struct folder_msg *msg,
                 const struct folder_opts *opts, long *written);
void folder_write_error(const struct folder_opts *opts, int serrno, const char *name,
                        struct buf *err);
int folder_mbox(const char *name, mode_t mode, const struct folder_msg *msg,
                const struct folder_opts *opts, long *written, struct buf *err);
mode_t folder_mkdir(const char *dir, mode_t umask_);
int folder_mkmaildir(struct buf *dir, const struct folder_opts *opts);
int folder_dir_deliver(enum folder_type type, struct buf *dir, mode_t mode,
                       const struct folder_msg *msg, const struct folder_opts *opts,
                       struct buf *original, long *written, struct buf *err);
void folder_dir_link(enum folder_type type, struct buf *dir, mode_t mode, const char *original,
                     const struct folder_opts *opts, struct buf *lastfolder);
void folder_update_mark(const char *path, mode_t mode, const struct folder_opts *opts);
int folder_link(const char *old, const char *new);
void folder_sync_dir(const char *path);

#endif
