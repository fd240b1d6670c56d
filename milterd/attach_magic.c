/*
 * attach_magic.c - the type of content as libmagic sees it ("magic=").
 *
 * A libmagic cookie is not safe to share between threads, and loading the
 * database costs a little, so each thread opens one the first time it
 * needs it and keeps it until it ends.  Only the first ATTACH_HEAD bytes
 * of a file are ever looked at.
 *
 * What it trusts: the magic database of the system (libmagic-mgc).
 */
#include <ctype.h>
#include <pthread.h>

#include <magic.h>

#include "milterd/attach_int.h"

#define MAGIC_FLAGS (MAGIC_MIME_TYPE | MAGIC_NO_CHECK_CSV | MAGIC_NO_CHECK_JSON)

static pthread_key_t magic_key;
static pthread_once_t magic_once = PTHREAD_ONCE_INIT;

static void magic_destroy(void *cookie)
{
    magic_close(cookie);
}

static void magic_make_key(void)
{
    (void) pthread_key_create(&magic_key, magic_destroy);
}

/* magic_cookie - this thread's cookie, opened on first use; NULL with err */
static magic_t magic_cookie(struct buf *err)
{
    magic_t cookie;

    pthread_once(&magic_once, magic_make_key);
    if ((cookie = pthread_getspecific(magic_key)) != NULL)
        return cookie;
    if ((cookie = magic_open(MAGIC_FLAGS)) == NULL) {
        buf_printf(err, "libmagic: cannot open: out of memory");
        return NULL;
    }
    if (magic_load(cookie, NULL) != 0) {
        buf_printf(err, "libmagic: cannot load the magic database: %s (install libmagic-mgc)",
                   magic_error(cookie) ? magic_error(cookie) : "unknown error");
        magic_close(cookie);
        return NULL;
    }
    (void) pthread_setspecific(magic_key, cookie);
    return cookie;
}

/* attach_magic_check - whether libmagic works here; -1 with err */
int attach_magic_check(struct buf *err)
{
    return magic_cookie(err) ? 0 : -1;
}

/* attach_magic_type - the MIME type of data, lower case, into type; -1 with err */
int attach_magic_type(const void *data, size_t len, struct buf *type, struct buf *err)
{
    magic_t cookie = magic_cookie(err);
    const char *t;
    size_t i;

    if (cookie == NULL)
        return -1;
    if ((t = magic_buffer(cookie, data, len)) == NULL) {
        buf_printf(err, "libmagic: %s", magic_error(cookie) ? magic_error(cookie) : "unknown error");
        return -1;
    }
    buf_setstr(type, t);
    for (i = 0; i < type->len; i++)
        type->data[i] = tolower((unsigned char) type->data[i]);
    return 0;
}
