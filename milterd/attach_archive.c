/*
 * attach_archive.c - list the members of an archive with libarchive, and
 * of the archives inside it, down to the policy's archive_depth.
 *
 * Every member becomes a file for the rules (names, extensions, size from
 * the archive's directory, libmagic on its first bytes).  A member that is
 * itself an archive is spooled to a temporary file (at most archive_size
 * bytes) and listed in turn.  Members are read only as far as needed: a
 * member that is not an archive costs at most ATTACH_HEAD bytes of
 * decompression, however large it claims to be.
 *
 * What it trusts: nothing in the archive.  What cannot be listed in full
 * (damaged, unsupported, too deep, too large, too many members) is marked
 * "unscanned"; what is encrypted is marked "encrypted"; both are conditions
 * the rules see.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "libmatch/mem.h"
#include "milterd/attach_int.h"

#define ARCHIVE_BLOCK 65536 /* bytes asked of libarchive at a time */

/* archive_trouble - libarchive gave up: unscanned, and encrypted when it says so */
static void archive_trouble(struct attach_file *archive, struct archive *a)
{
    const char *why = archive_error_string(a);

    archive->unscanned = 1;
    if (why && (strstr(why, "ncrypt") || strstr(why, "assword") || strstr(why, "assphrase")))
        archive->encrypted = 1;
}

/* archive_raw_name - a compressed single file is named after the archive, less its extension */
static void archive_raw_name(const struct attach_file *archive, struct buf *name)
{
    char *dot;

    buf_setstr(name, archive->nnames ? archive->names[0] : "");
    attach_clean_name(name);
    if ((dot = strrchr(name->data, '.')) != NULL && dot != name->data)
        buf_truncate(name, dot - name->data);
    if (name->len == 0)
        buf_setstr(name, "data");
}

/* archive_member - one member: read what is needed, list it if it is an archive, judge it */
static int archive_member(const struct attach_policy *policy, struct attach_file *archive,
                          struct archive *a, struct archive_entry *entry, const char *path,
                          attach_member_fn fn, void *ctx, struct buf *err)
{
    struct attach_file m;
    struct attach_content c;
    const char *names[1] = { path };
    char *block = NULL;
    la_ssize_t n = 0;
    int ret = 0;

    attach_file_init(&m);
    m.section = archive->section;
    m.partname = archive->partname;
    m.names = names;
    m.nnames = 1;
    m.depth = archive->depth;
    m.archive_depth = archive->archive_depth + 1;
    m.size = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : -1;
    m.encrypted = archive_entry_is_encrypted(entry) != 0;
    if (archive->member.len)
        buf_printf(&m.member, "%s/", archive->member.data);
    buf_addstr(&m.member, path);
    attach_file_prepare(&m);
    if (!m.encrypted) {
        attach_content_init(&c, policy, &m, m.archive_depth < policy->archive_depth);
        block = mem_alloc(ARCHIVE_BLOCK);
        while (ret == 0 && attach_content_wants_more(&c)) {
            if ((n = archive_read_data(a, block, ARCHIVE_BLOCK)) <= 0)
                break;
            ret = attach_content_add(&c, block, n, err);
        }
        if (n < 0) {
            /* The member's data cannot be read: the archive is not seen in full. */
            archive_trouble(&m, a);
            archive->unscanned = 1;
        }
        if (ret == 0)
            ret = attach_content_end(&c, err);
        if (m.size < 0 && n == 0)
            m.size = c.size;
        if (ret == 0 && m.archive && !m.unscanned) {
            if (c.fd >= 0 || (n == 0 && c.size == (long long) c.head.len))
                ret = attach_archive_list(policy, &m, c.head.data, c.head.len, c.fd, fn, ctx, err);
            else
                m.unscanned = 1;
        }
        attach_content_free(&c);
        mem_free(block);
    }
    if (m.encrypted)
        archive->encrypted = 1;
    if (ret == 0)
        ret = fn(&m, ctx);
    attach_file_free(&m);
    return ret;
}

/*
 * attach_archive_list - list the archive in fd (from its start), or in
 * data/len when fd < 0, and call fn for each member (after the members of
 * any archive inside it).  Sets archive->encrypted and ->unscanned.
 * Returns 0, fn's nonzero value when it stopped, or -1 (err) when a
 * temporary file could not be written.
 */
int attach_archive_list(const struct attach_policy *policy, struct attach_file *archive,
                        const char *data, size_t len, int fd, attach_member_fn fn, void *ctx,
                        struct buf *err)
{
    struct archive *a = archive_read_new();
    struct archive_entry *entry;
    struct buf name = BUF_INIT;
    const char *path;
    long count = 0;
    int r, ret = 0;

    if (a == NULL) {
        buf_printf(err, "libarchive: out of memory");
        return -1;
    }
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    archive_read_support_format_raw(a);
    if (fd >= 0 && lseek(fd, 0, SEEK_SET) < 0) {
        buf_printf(err, "cannot rewind a temporary file: %s", strerror(errno));
        archive_read_free(a);
        return -1;
    }
    r = fd >= 0 ? archive_read_open_fd(a, fd, ARCHIVE_BLOCK) : archive_read_open_memory(a, data, len);
    if (r != ARCHIVE_OK) {
        archive_trouble(archive, a);
        archive_read_free(a);
        return 0;
    }
    while (ret == 0) {
        r = archive_read_next_header(a, &entry);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            archive_trouble(archive, a);
            break;
        }
        if (archive_read_has_encrypted_entries(a) > 0)
            archive->encrypted = 1;
        if (++count > policy->archive_members) {
            archive->unscanned = 1;
            break;
        }
        if (archive_format(a) == ARCHIVE_FORMAT_RAW) {
            /* Not an archive, and not compressed either: nothing inside. */
            if (archive_filter_count(a) <= 1) {
                archive->unscanned = 1;
                break;
            }
            archive_raw_name(archive, &name);
            path = name.data;
        } else {
            path = archive_entry_pathname_utf8(entry);
            if (path == NULL)
                path = archive_entry_pathname(entry);
            if (path == NULL)
                path = "";
        }
        if (archive_entry_filetype(entry) == AE_IFDIR)
            continue;
        ret = archive_member(policy, archive, a, entry, path, fn, ctx, err);
    }
    if (archive_read_has_encrypted_entries(a) > 0)
        archive->encrypted = 1;
    archive_read_free(a);
    buf_free(&name);
    return ret;
}
