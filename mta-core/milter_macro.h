/*
 * milter_macro.h - the Sendmail macros an SMTP session hands its milters.
 *
 * The session sets values as it learns them ({client_addr} at connect, i
 * when the queue id is known, {rcpt_addr} per recipient, ...); each event
 * then sends the values named by that stage's macro list.  Names are
 * looked up in canonical form: "client_addr" and "{client_addr}" are the
 * same macro, single letters like "j" and "i" may be written either way.
 * Values are copied; nothing here trusts or interprets them.
 */
#ifndef MAILSIFT_MILTER_MACRO_H
#define MAILSIFT_MILTER_MACRO_H

#include "libmatch/buf.h"

struct milter_macro_entry;

struct milter_macros {
    struct milter_macro_entry *v;
    size_t n, cap;
};

void milter_macro_init(struct milter_macros *t);
void milter_macro_free(struct milter_macros *t);
void milter_macro_set(struct milter_macros *t, const char *name, const char *value);
const char *milter_macro_get(const struct milter_macros *t, const char *name);
int milter_macro_encode(const struct milter_macros *t, const struct milter_macros *defaults,
                        const char *names, struct buf *out);
int milter_macro_parse_defaults(struct milter_macros *t, const char *spec, struct buf *err);

#endif
