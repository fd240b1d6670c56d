/*
 * buf.c - growable, length-counted byte strings.
 *
 * An initialised buffer points at a shared empty string until the first
 * byte is added, so that init costs nothing and data is never NULL.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "libmatch/buf.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"

static char buf_empty[1];

/* buf_init - an empty buffer */
void buf_init(struct buf *b)
{
    b->data = buf_empty;
    b->len = 0;
    b->cap = 0;
}

/* buf_free - release the storage; the buffer is empty and reusable */
void buf_free(struct buf *b)
{
    if (b->cap)
        mem_free(b->data);
    buf_init(b);
}

/* buf_reset - empty the buffer, keep the storage */
void buf_reset(struct buf *b)
{
    buf_truncate(b, 0);
}

/* buf_grow - make room for extra more bytes plus the terminator */
void buf_grow(struct buf *b, size_t extra)
{
    size_t need;

    if (extra > (size_t) -1 / 2 - b->len)
        msg_panic("buf_grow: overflow: %zu + %zu", b->len, extra);
    need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    if (need < b->cap + b->cap / 2)
        need = b->cap + b->cap / 2;
    if (need < 64)
        need = 64;
    if (b->cap == 0) {
        b->data = mem_alloc(need);
        b->data[0] = 0;
    } else {
        b->data = mem_realloc(b->data, need);
    }
    b->cap = need;
}

/* buf_truncate - shorten to len bytes */
void buf_truncate(struct buf *b, size_t len)
{
    if (len > b->len)
        msg_panic("buf_truncate: %zu beyond length %zu", len, b->len);
    b->len = len;
    if (b->cap)
        b->data[len] = 0;
}

/* buf_add - append len bytes */
void buf_add(struct buf *b, const void *data, size_t len)
{
    if (len == 0)
        return;
    buf_grow(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
}

/* buf_addstr - append a C string */
void buf_addstr(struct buf *b, const char *str)
{
    buf_add(b, str, strlen(str));
}

/* buf_addch - append one byte */
void buf_addch(struct buf *b, int ch)
{
    buf_grow(b, 1);
    b->data[b->len++] = (char) ch;
    b->data[b->len] = 0;
}

/* buf_set - replace the contents with len bytes */
void buf_set(struct buf *b, const void *data, size_t len)
{
    buf_reset(b);
    buf_add(b, data, len);
}

/* buf_setstr - replace the contents with a C string */
void buf_setstr(struct buf *b, const char *str)
{
    buf_set(b, str, strlen(str));
}

/* buf_vprintf - append formatted text */
void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        msg_panic("buf_vprintf: bad format \"%s\"", fmt);
    buf_grow(b, (size_t) n);
    vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
    b->len += (size_t) n;
}

/* buf_printf - append formatted text */
void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

/* buf_detach - hand the storage to the caller (mem_free it); buffer empties */
char *buf_detach(struct buf *b, size_t *len)
{
    char *data;

    if (len)
        *len = b->len;
    data = b->cap ? b->data : mem_strdup("");
    buf_init(b);
    return data;
}

/* buf_trim - drop leading and trailing white space */
void buf_trim(struct buf *b)
{
    size_t start = 0;

    while (b->len > 0 && isspace((unsigned char) b->data[b->len - 1]))
        b->len--;
    while (start < b->len && isspace((unsigned char) b->data[start]))
        start++;
    if (start)
        memmove(b->data, b->data + start, b->len - start);
    b->len -= start;
    if (b->cap)
        b->data[b->len] = 0;
}
