/*
 * config.h - main.cf-style configuration: "name = value" with $name expansion.
 *
 * milterd.conf and mta-core.conf are read with this, so operators get the
 * syntax they know from Postfix: '#' comments, continuation lines that start
 * with white space, $name, ${name} and $(name) expansion (also ${name?text}
 * and ${name:text}), and -o name=value overrides on the command line.
 */
#ifndef MAILSIFT_CONFIG_H
#define MAILSIFT_CONFIG_H

#include "libmatch/buf.h"

/* A parameter a program knows, with its default (which may use $names). */
struct config_param {
    const char *name;
    const char *defval;
};

struct config;

struct config *config_new(const struct config_param *known);
void config_free(struct config *cfg);
int config_load(struct config *cfg, const char *path, struct buf *err);
int config_set(struct config *cfg, const char *assignment, struct buf *err);
int config_check(const struct config *cfg, struct buf *err);
const char *config_get(struct config *cfg, const char *name);
const char *config_get_raw(const struct config *cfg, const char *name);
int config_get_int(struct config *cfg, const char *name, long min, long max, long *value, struct buf *err);
int config_get_bool(struct config *cfg, const char *name, int *value, struct buf *err);
int config_get_time(struct config *cfg, const char *name, int unit, long *seconds, struct buf *err);
int config_expand(struct config *cfg, const char *text, struct buf *out, struct buf *err);

#endif
