/*
 * alias_expand.h - what a recipient address turns into: virtual(5) aliasing,
 * then, for domains in mydestination, aliases(5) and the local user.
 *
 * The queue manager expands every recipient of a message once, when it
 * first takes the message, and records the targets in the queue file; each
 * target is then delivered exactly once.  A target is:
 *
 *   mailbox  a local user's mailbox (mailbox_command or home_mailbox)
 *   command  "|command" from aliases or an :include: file
 *   file     "/file" from aliases or an :include: file
 *   relay    an address in another domain (the smtp transport's job)
 *
 * or, with dsn and text set, a recipient that already failed for good
 * (unknown user, alias loop, mail to a command not allowed, ...).
 */
#ifndef MAILSIFT_ALIAS_EXPAND_H
#define MAILSIFT_ALIAS_EXPAND_H

#include <sys/types.h>

#include "libmatch/buf.h"

#define ALIAS_DEPTH_MAX 100     /* nested aliases, virtual aliases and includes */
#define ALIAS_TARGETS_MAX 1000  /* targets from one message (virtual_alias_expansion_limit) */
#define ALIAS_INCLUDE_MAX (1024 * 1024) /* bytes in one :include: file */

struct alias_target {
    char *kind;   /* "mailbox", "command", "file", "relay" */
    uid_t uid;    /* privileges for command and file */
    gid_t gid;
    char *alias;  /* the address whose expansion produced it */
    char *target; /* address, command (without '|') or file name */
    char *dsn;    /* non-NULL: failed during expansion, for good */
    char *text;
};

struct alias_list {
    struct alias_target *v;
    size_t n;
    size_t alloc;
};

struct alias_ctx;
struct config;

struct alias_ctx *alias_init(struct config *cfg, struct buf *err);
int alias_refresh(struct alias_ctx *ctx, int force, struct buf *err);
int alias_expand(struct alias_ctx *ctx, const char *rcpt, struct alias_list *out, struct buf *err);
int alias_is_local_domain(const struct alias_ctx *ctx, const char *domain);
void alias_list_free(struct alias_list *list);
void alias_free(struct alias_ctx *ctx);

/*
 * alias_expand() appends the targets of one recipient to out, skipping
 * any target already there (so one list for all recipients of a message
 * removes duplicates across them, as Postfix does).  Returns 0, or -1
 * with err for a temporary failure (a map that cannot be read): nothing
 * was appended and the message should wait.
 */

#endif
