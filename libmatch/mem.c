/*
 * mem.c - allocation that succeeds or exits.
 *
 * Callers never check for NULL.  An impossible size (an overflowing
 * product, a size over half the address space) is our bug and panics; a
 * refused allocation is fatal.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"

static void *mem_check(void *ptr, size_t size)
{
    if (ptr == NULL && size != 0)
        msg_fatal("out of memory allocating %zu bytes", size);
    return ptr;
}

/* mem_alloc - allocate size bytes */
void *mem_alloc(size_t size)
{
    if (size > SIZE_MAX / 2)
        msg_panic("mem_alloc: unreasonable size %zu", size);
    return mem_check(malloc(size ? size : 1), size ? size : 1);
}

/* mem_zalloc - allocate size zeroed bytes */
void *mem_zalloc(size_t size)
{
    if (size > SIZE_MAX / 2)
        msg_panic("mem_zalloc: unreasonable size %zu", size);
    return mem_check(calloc(1, size ? size : 1), size ? size : 1);
}

/* mem_realloc - resize; ptr may be NULL */
void *mem_realloc(void *ptr, size_t size)
{
    if (size > SIZE_MAX / 2)
        msg_panic("mem_realloc: unreasonable size %zu", size);
    return mem_check(realloc(ptr, size ? size : 1), size ? size : 1);
}

/* mem_array - allocate nmemb zeroed elements of size bytes */
void *mem_array(size_t nmemb, size_t size)
{
    if (size != 0 && nmemb > SIZE_MAX / 2 / size)
        msg_panic("mem_array: overflow: %zu * %zu", nmemb, size);
    return mem_zalloc(nmemb * size);
}

/* mem_realloc_array - resize an array of nmemb elements of size bytes */
void *mem_realloc_array(void *ptr, size_t nmemb, size_t size)
{
    if (size != 0 && nmemb > SIZE_MAX / 2 / size)
        msg_panic("mem_realloc_array: overflow: %zu * %zu", nmemb, size);
    return mem_realloc(ptr, nmemb * size);
}

/* mem_dup - copy size bytes */
void *mem_dup(const void *ptr, size_t size)
{
    void *copy = mem_alloc(size);

    if (size)
        memcpy(copy, ptr, size);
    return copy;
}

/* mem_strdup - copy a string */
char *mem_strdup(const char *str)
{
    return mem_dup(str, strlen(str) + 1);
}

/* mem_strndup - copy at most len bytes of a string, always terminated */
char *mem_strndup(const char *str, size_t len)
{
    size_t n = strnlen(str, len);
    char *copy = mem_alloc(n + 1);

    memcpy(copy, str, n);
    copy[n] = 0;
    return copy;
}

/* mem_free - release; NULL is fine */
void mem_free(void *ptr)
{
    free(ptr);
}
