/*
 * buf.h - growable, length-counted byte strings (Postfix VSTRING, git strbuf).
 *
 * Every untrusted byte sequence lives in one of these.  data is always
 * NUL-terminated (data[len] == 0) so that it can be handed to C string
 * functions, but it may hold NUL bytes of its own: len is the truth.
 */
#ifndef MAILSIFT_BUF_H
#define MAILSIFT_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* never NULL after buf_init */
    size_t len; /* bytes used, not counting the terminator */
    size_t cap; /* bytes allocated, 0 while data points at the shared "" */
};

#define BUF_INIT { (char *) "", 0, 0 }

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_grow(struct buf *b, size_t extra);
void buf_truncate(struct buf *b, size_t len);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_addstr(struct buf *b, const char *str);
void buf_addch(struct buf *b, int ch);
void buf_set(struct buf *b, const void *data, size_t len);
void buf_setstr(struct buf *b, const char *str);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
char *buf_detach(struct buf *b, size_t *len);
void buf_trim(struct buf *b);

#endif
