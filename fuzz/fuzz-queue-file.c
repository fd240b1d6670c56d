/*
 * fuzz-queue-file.c - libFuzzer target: a queue file's bytes through
 * queue_read_fd(), the parser mta-core's maildrop pickup runs on files
 * that any local user wrote (maildrop.h), and that the queue manager runs
 * on its own files after a crash.
 *
 * The input is the whole file, put into an anonymous memory file so that
 * the parser reads it through a descriptor as it does on disk.  Promises
 * checked for a file it accepts: the content lies inside the file
 * (content_start <= content_end <= file_size), there is a sender, and
 * every recipient has an address.  A rejected file must come with a
 * reason.  A broken promise aborts and libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "libmatch/msg.h"
#include "mta-core/queue.h"

#define FUZZ_MAX_LEN 65536

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc, (void) argv;
    msg_open("fuzz-queue-file", 0, 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct queue_msg *qm = NULL;
    struct buf err = BUF_INIT;
    size_t i;
    int fd;

    if (size > FUZZ_MAX_LEN)
        return 0;
    fd = memfd_create("queue-file", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != (ssize_t) size || lseek(fd, 0, SEEK_SET) != 0)
        abort();
    if (queue_read_fd(fd, "maildrop/incoming/5BFuzzQueueFile1", &qm, &err) == 0) {
        if (!qm || qm->content_start > qm->content_end || (size_t) qm->content_end > size || !qm->sender)
            abort();
        for (i = 0; i < qm->nrcpt; i++)
            if (!qm->rcpts[i].address)
                abort();
        queue_msg_free(qm);
    } else if (err.len == 0 || qm) {
        abort();
    }
    buf_free(&err);
    close(fd);
    return 0;
}
