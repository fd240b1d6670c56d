/*
 * fuzz-table.c - libFuzzer target: a table file's bytes into table_open
 * (regexp: or pcre:, strict and lenient), then lookups.
 *
 * Input layout (so that the seeds in fuzz/corpus/table/ stay readable):
 *   byte 0       bit 0: 1 regexp, 0 pcre; the other bits are ignored
 *   bytes 1-2    n, the table's length (little endian; cut to what is there)
 *   next n bytes the table file
 *   the rest     keys, one per '\n'-separated piece (at most FUZZ_KEYS)
 *
 * Besides "no crash, no leak, no undefined behaviour" it checks what must
 * hold for any table: a table that loads strictly has no complaint and
 * loads leniently with the same answers; a table that does not load
 * strictly has complaints; a lenient load with no complaint loads
 * strictly too.  A broken promise aborts, and libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/buf.h"
#include "libmatch/msg.h"
#include "libmatch/table.h"

#define FUZZ_KEYS 8
#define FUZZ_MAX_LEN 8192 /* longer inputs say nothing new and run slowly */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc, (void) argv;
    msg_open("fuzz-table", 0, 0); /* lline's warnings: nowhere */
    return 0;
}

/* answer - look key up; 1/0/-1 and the result in out */
static int answer(const struct table *t, const char *key, size_t len, struct buf *out)
{
    struct table_match m;
    struct buf err = BUF_INIT;
    int rc;

    table_match_init(&m);
    rc = table_lookup(t, key, len, &m, &err);
    buf_reset(out);
    if (rc > 0) {
        buf_add(out, m.result.data, m.result.len);
        buf_printf(out, "@%s:%d", m.file, m.line);
    } else if (rc < 0 && err.len == 0) {
        abort(); /* a failed lookup always says why */
    }
    table_match_free(&m);
    buf_free(&err);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *type;
    struct buf err_strict = BUF_INIT;
    struct buf err_lenient = BUF_INIT;
    struct buf a = BUF_INIT;
    struct buf b = BUF_INIT;
    struct table *strict;
    struct table *lenient;
    const char *keys;
    size_t nkeys_bytes;
    size_t n;
    int i;

    if (size < 3 || size > FUZZ_MAX_LEN)
        return 0;
    type = (data[0] & 1) ? "regexp" : "pcre";
    n = (size_t) data[1] | (size_t) data[2] << 8;
    if (n > size - 3)
        n = size - 3;
    strict = table_open_text(type, "fuzz", (const char *) data + 3, n, 0, &err_strict);
    lenient = table_open_text(type, "fuzz", (const char *) data + 3, n, TABLE_LENIENT, &err_lenient);
    if (lenient == NULL)
        abort(); /* lenient loading of text never fails */
    if ((strict != NULL) != (err_strict.len == 0))
        abort(); /* strict: loads exactly when there is nothing to say */
    if ((strict != NULL) != (err_lenient.len == 0))
        abort(); /* and lenient finds the same problems */

    keys = (const char *) data + 3 + n;
    nkeys_bytes = size - 3 - n;
    for (i = 0; i < FUZZ_KEYS; i++) {
        const char *nl = memchr(keys, '\n', nkeys_bytes);
        size_t len = nl ? (size_t) (nl - keys) : nkeys_bytes;
        int rl = answer(lenient, keys, len, &a);

        if (strict) {
            int rs = answer(strict, keys, len, &b);

            if (rs != rl || (rs > 0 && (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)))
                abort(); /* the same table must answer the same */
        }
        if (nl == NULL)
            break;
        nkeys_bytes -= len + 1;
        keys = nl + 1;
    }
    table_free(strict);
    table_free(lenient);
    buf_free(&err_strict);
    buf_free(&err_lenient);
    buf_free(&a);
    buf_free(&b);
    return 0;
}
