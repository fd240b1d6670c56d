/*
 * daemon.h - milterd as a daemon: the socket, privileges, signals, reloads.
 *
 * What it trusts: the configuration; it runs as root only until the
 * socket is open.
 */
#ifndef MAILSIFT_MILTERD_DAEMON_H
#define MAILSIFT_MILTERD_DAEMON_H

#include "libmatch/config.h"
#include "milterd/conf.h"

int daemon_run(const struct conf_source *src, struct config *cfg);

#endif
