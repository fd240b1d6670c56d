/*
 * mem.h - the one allocator family: every call succeeds or the process exits.
 *
 * Sizes that come from multiplication are overflow-checked.  Running out of
 * memory is a broken environment, not bad input, so there is no error return.
 */
#ifndef MAILSIFT_MEM_H
#define MAILSIFT_MEM_H

#include <stddef.h>

void *mem_alloc(size_t size);
void *mem_zalloc(size_t size);
void *mem_realloc(void *ptr, size_t size);
void *mem_array(size_t nmemb, size_t size);
void *mem_realloc_array(void *ptr, size_t nmemb, size_t size);
void *mem_dup(const void *ptr, size_t size);
char *mem_strdup(const char *str);
char *mem_strndup(const char *str, size_t len);
void mem_free(void *ptr);

#endif
