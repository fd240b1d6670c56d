/*
 * fuzz-attach.c - libFuzzer target for milterd's attachment policy: the MIME
 * walk (GMime), names, base64 checking, libmagic and archive listing
 * (libarchive, nested) on an untrusted message, and the policy file parser.
 *
 * An input that starts with "#policy\n" is a policy file (loaded, then used
 * on a fixed message); any other input is a message, judged by a policy that
 * uses every kind of condition.  Seeds: fuzz/corpus/attach/ (messages
 * composed by t/data/attach/mkmsgs.py).
 *
 * Built by "make fuzz" (fuzz/build.mk lists the milterd sources it needs);
 * run: fuzz/fuzz-attach fuzz/corpus/attach.  Before make fuzz existed:
 *   clang -fsanitize=address,undefined,fuzzer -D_GNU_SOURCE -I. $(pkg-config
 *   --cflags --libs gmime-3.0 libarchive libmagic libpcre2-8) fuzz/attach/fuzz-attach.c
 *   libmatch/[a-z]*.c milterd/attach_[a-z]*.c -o fuzz-attach
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "libmatch/msg.h"
#include "milterd/attach.h"

static struct attach_policy *policy;

static const char policy_text[] =
    "set archive_depth = 3\n"
    "set archive_members = 200\n"
    "set archive_size = 1M\n"
    "malformed=boundary,conflict,names REJECT bad\n"
    "bidi REJECT bidi\n"
    "ext=exe,scr,tar.gz name=\"*  .*\",x*.js REJECT ext\n"
    "!in-archive double-ext named WARN double\n"
    "magic=application/vnd.microsoft.* REJECT magic\n"
    "in-archive archive-depth>=2 type=text/* HOLD deep\n"
    "encrypted HOLD enc\n"
    "unscanned HOLD unscanned\n"
    "nested depth<=2 size>1k disposition=inline DEFER nested\n"
    "container !malformed ACCEPT\n"
    "malformed DISCARD\n";

static const char fixed_message[] =
    "From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
    "--b\nContent-Disposition: attachment; filename*0=\"a.\"; filename*1=\"exe\"\n\nMZ\n--b--\n";

/* fuzz_fd - the bytes in a memory file */
static int fuzz_fd(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-attach", MFD_CLOEXEC);

    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t) size))
        abort();
    return fd;
}

/* fuzz_load - a policy from text, through a file as milterd reads it */
static struct attach_policy *fuzz_load(const uint8_t *text, size_t len, struct buf *err)
{
    int fd = fuzz_fd(text, len);
    char path[64];
    struct attach_policy *p;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    p = attach_policy_load(path, err);
    close(fd);
    return p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct buf err = BUF_INIT;

    (void) argc;
    (void) argv;
    msg_open("fuzz-attach", 0, 0);
    policy = fuzz_load((const uint8_t *) policy_text, sizeof(policy_text) - 1, &err);
    if (policy == NULL) {
        fprintf(stderr, "fuzz-attach: the built-in policy does not load: %s\n", err.data);
        abort();
    }
    buf_free(&err);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char magic[] = "#policy\n";
    struct attach_verdict v;
    struct buf err = BUF_INIT, line = BUF_INIT;
    const struct attach_policy *use = policy;
    struct attach_policy *loaded = NULL;
    size_t i;
    int fd;

    if (size >= sizeof(magic) - 1 && memcmp(data, magic, sizeof(magic) - 1) == 0) {
        if ((loaded = fuzz_load(data, size, &err)) == NULL) {
            buf_free(&err);
            return 0;
        }
        use = loaded;
        fd = fuzz_fd((const uint8_t *) fixed_message, sizeof(fixed_message) - 1);
    } else {
        fd = fuzz_fd(data, size);
    }
    attach_verdict_init(&v);
    if (attach_judge(use, fd, &v, &err) >= 0) {
        for (i = 0; i < v.nhits; i++)
            attach_hit_format(&v.hits[i], &line);
        if ((v.hit == NULL) != (v.action == ATTACH_NONE))
            abort();
    }
    attach_verdict_free(&v);
    close(fd);
    attach_policy_free(loaded);
    buf_free(&err);
    buf_free(&line);
    return 0;
}
