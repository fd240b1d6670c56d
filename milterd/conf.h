/*
 * conf.h - milterd.conf: the parameters milterd knows, their defaults, and
 * reading the file plus -o overrides (libmatch/config.h does the syntax).
 *
 * What it trusts: the configuration file is the administrator's; every
 * problem is reported as "FILE, line N: problem".
 */
#ifndef MAILSIFT_MILTERD_CONF_H
#define MAILSIFT_MILTERD_CONF_H

#include "libmatch/buf.h"
#include "libmatch/config.h"

#define CONF_DEFAULT_PATH "/etc/milterd/milterd.conf"

/* The command line's say on the configuration, kept for reloads. */
struct conf_source {
    const char *path;          /* -c FILE, or CONF_DEFAULT_PATH */
    int path_given;            /* -c was used: the file must exist */
    const char *const *overrides; /* -o name=value, in order */
    int noverrides;
};

struct config *conf_load(const struct conf_source *src, struct buf *err);

#endif
