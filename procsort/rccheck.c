/*
 * rccheck.c - may an rc file be trusted? (see rccheck.h)
 *
 * Trusts the file system's answers to stat(2), nothing else.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "libmatch/mem.h"
#include "procsort/rccheck.h"

/* rccheck - 1 fine, 0 missing, -1 suspicious */
int rccheck(const char *path, int type, uid_t uid, gid_t gid)
{
    struct stat st;
    char *dir, *slash;
    int bad = 0;

    if (stat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (type == RCCHECK_CURRENT || strcmp(path, "/dev/null") == 0)
        return 1;
    if ((st.st_uid != uid && st.st_uid != 0) || (st.st_mode & S_IWOTH)
        || (type == RCCHECK_DEFAULT && (st.st_mode & S_IWGRP) && st.st_gid != gid))
        bad = 1;
    dir = mem_strdup(path);
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = 0;
    else if (slash)
        *slash = 0;
    else
        strcpy(dir, ".");
    if (!bad) {
        if (stat(dir, &st) != 0)
            bad = 1;
        else if (!(st.st_mode & S_ISVTX)
                 && ((st.st_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH)
                     || (type == RCCHECK_DEFAULT && (st.st_mode & (S_IWGRP | S_IXGRP)) == (S_IWGRP | S_IXGRP)
                         && st.st_gid != gid)))
            bad = 1;
    }
    mem_free(dir);
    return bad ? -1 : 1;
}
