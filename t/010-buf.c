/*
 * 010-buf.c - libmatch's growable strings keep their length and terminator
 * through every operation, NUL bytes included.
 */
#include <string.h>

#include "libmatch/buf.h"
#include "libmatch/mem.h"
#include "t/lib/tap.h"

int main(void)
{
    struct buf b = BUF_INIT;
    char *raw;
    size_t len;
    int i;

    is_string(b.data, "", "an initialised buffer reads as the empty string");
    buf_addstr(&b, "Subject: ");
    buf_add(&b, "a\0b", 3);
    is_int(b.len, 12, "length counts the NUL byte inside");
    ok(memcmp(b.data, "Subject: a\0b", 13) == 0, "bytes and terminator are all there");
    buf_reset(&b);
    is_int(b.len, 0, "reset empties");
    for (i = 0; i < 10000; i++)
        buf_addch(&b, 'x');
    is_int(b.len, 10000, "10000 single bytes appended");
    is_int(b.data[b.len], 0, "still terminated after growth");
    buf_setstr(&b, "  both sides  \n");
    buf_trim(&b);
    is_string(b.data, "both sides", "trim removes leading and trailing space");
    buf_reset(&b);
    buf_printf(&b, "%s=%d", "n", 42);
    buf_printf(&b, "%0300d", 7);
    is_int(b.len, 304, "printf appends, and grows past the first allocation");
    ok(strncmp(b.data, "n=42000", 7) == 0, "printf text is right");
    raw = buf_detach(&b, &len);
    is_int(len, 304, "detach hands over the length");
    is_string(b.data, "", "the buffer is empty after detach");
    mem_free(raw);
    raw = buf_detach(&b, &len);
    is_string(raw, "", "detaching an empty buffer gives an allocated empty string");
    mem_free(raw);
    buf_free(&b);
    return done_testing();
}
