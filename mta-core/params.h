/*
 * params.h - the one list of main.cf parameters mta-core and mtaq know.
 *
 * Names and defaults follow Postfix's main.cf wherever Postfix has the
 * parameter (postconf(5)); the man page mta-core.conf(5) documents each
 * one.  Every module reads its values through config_get*() from this list,
 * so an unknown name in a configuration file is an error naming its line.
 */
#ifndef MAILSIFT_PARAMS_H
#define MAILSIFT_PARAMS_H

#include "libmatch/buf.h"
#include "libmatch/config.h"

extern const struct config_param mta_params[];

struct config *params_load(const char *path, char *const *overrides, int noverride, int must_exist);
struct config *params_reload(struct buf *err);

#endif
