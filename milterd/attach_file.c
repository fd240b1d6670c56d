/*
 * attach_file.c - a file as the policy sees it, and which rule it meets.
 *
 * A name is compared the way the recipient's system will use it: the last
 * path component only ("../x/a.exe" and "C:\x\a.exe" are "a.exe"), with
 * trailing dots and spaces gone as Windows drops them ("a.exe. " runs as
 * "a.exe"), in Unicode NFKC and case-folded ("A.ＥＸＥ" is "a.exe").
 * Every name a part's headers give is tried; a condition holds when any of
 * them meets it.
 *
 * What it trusts: names are untrusted UTF-8 (GMime's decoding); invalid
 * sequences are replaced before anything compares them.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <string.h>

#include <glib.h>

#include "libmatch/mem.h"
#include "libmatch/mime_walk.h"
#include "milterd/attach_int.h"

/* attach_file_init - an empty file */
void attach_file_init(struct attach_file *file)
{
    memset(file, 0, sizeof(*file));
    buf_init(&file->member);
    buf_init(&file->magic);
    file->section = "";
    file->partname = "";
    file->type = "";
    file->disposition = "";
    file->size = -1;
}

/* attach_file_free - release what prepare and the walk added */
void attach_file_free(struct attach_file *file)
{
    size_t i;

    for (i = 0; i < file->nfolded; i++)
        mem_free(file->folded[i]);
    mem_free(file->folded);
    buf_free(&file->member);
    buf_free(&file->magic);
    file->folded = NULL;
    file->nfolded = 0;
}

/* attach_fold - NFKC, case-folded copy of UTF-8 text (invalid bytes replaced) */
char *attach_fold(const char *text)
{
    gchar *valid = g_utf8_make_valid(text, -1);
    gchar *norm = g_utf8_normalize(valid, -1, G_NORMALIZE_NFKC);
    gchar *folded = g_utf8_casefold(norm ? norm : valid, -1);
    char *out = mem_strdup(folded);

    g_free(folded);
    g_free(norm);
    g_free(valid);
    return out;
}

/* attach_clean_name - the last path component, without trailing dots and spaces */
void attach_clean_name(struct buf *name)
{
    const char *base = name->data;
    const char *p;
    size_t len;

    for (p = name->data; p < name->data + name->len; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    len = name->len - (base - name->data);
    memmove(name->data, base, len);
    while (len > 0 && (name->data[len - 1] == '.' || isspace((unsigned char) name->data[len - 1])))
        len--;
    buf_truncate(name, len);
}

static int file_bidi(const char *name);

/* attach_file_prepare - compute the cleaned, folded names once, and whether any has bidi controls */
void attach_file_prepare(struct attach_file *file)
{
    struct buf name = BUF_INIT;
    size_t i;

    file->folded = mem_array(file->nnames + 1, sizeof(*file->folded));
    for (i = 0; i < file->nnames; i++) {
        gchar *valid = g_utf8_make_valid(file->names[i], -1);

        file->bidi |= file_bidi(valid);
        g_free(valid);
        buf_setstr(&name, file->names[i]);
        attach_clean_name(&name);
        file->folded[file->nfolded++] = attach_fold(name.data);
    }
    buf_free(&name);
}

/* file_has_ext - name ends in ".EXT" (both folded) */
static int file_has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);

    return n > e && name[n - e - 1] == '.' && memcmp(name + n - e, ext, e) == 0;
}

/*
 * file_double_ext - "invoice.pdf.exe": a name with two extensions where
 * the one before the last looks like one (1-5 letters and digits, with a
 * letter), so that "v1.2.zip" and "Mr. Smith.pdf" are not.
 */
static int file_double_ext(const char *name)
{
    const char *last = strrchr(name, '.');
    const char *prev, *p;
    int letter = 0;

    if (last == NULL || last == name || last[1] == 0)
        return 0;
    for (prev = last - 1; prev > name && *prev != '.'; prev--)
        ;
    if (prev == name || *prev != '.' || last - prev - 1 < 1 || last - prev - 1 > 5)
        return 0;
    for (p = prev + 1; p < last; p++) {
        if (!isalnum((unsigned char) *p))
            return 0;
        if (isalpha((unsigned char) *p))
            letter = 1;
    }
    return letter;
}

/* file_bidi - valid UTF-8 text with a bidirectional control character (U+202A-E, U+2066-9, U+200E-F, U+061C) */
static int file_bidi(const char *name)
{
    const char *p;

    for (p = name; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x200e ||
            c == 0x200f || c == 0x061c)
            return 1;
    }
    return 0;
}

/* file_compare - numeric comparison of a condition */
static int file_compare(long long value, const struct attach_cond *cond)
{
    switch (cond->op) {
    case OP_EQ: return value == cond->num;
    case OP_LT: return value < cond->num;
    case OP_LE: return value <= cond->num;
    case OP_GT: return value > cond->num;
    case OP_GE: return value >= cond->num;
    }
    return 0;
}

/* file_glob_list - the first item of a glob list that text matches, or NULL */
static const char *file_glob_list(const struct attach_cond *cond, const char *text)
{
    size_t i;

    for (i = 0; i < cond->nlist; i++)
        if (fnmatch(cond->list[i], text, 0) == 0)
            return cond->list[i];
    return NULL;
}

/*
 * file_cond - whether one condition (before negation) holds; what made it
 * hold (an item, a name) goes to why.
 */
static int file_cond(const struct attach_file *file, const struct attach_cond *cond, struct buf *why)
{
    const char *hit = NULL;
    size_t i, j;

    buf_reset(why);
    switch (cond->kind) {
    case COND_NAME:
        for (i = 0; i < file->nfolded && !hit; i++)
            if ((hit = file_glob_list(cond, file->folded[i])) != NULL)
                buf_printf(why, "name \"%s\"", file->folded[i]);
        return hit != NULL;
    case COND_EXT:
        for (i = 0; i < file->nfolded; i++)
            for (j = 0; j < cond->nlist; j++)
                if (file_has_ext(file->folded[i], cond->list[j])) {
                    buf_printf(why, "ext %s", cond->list[j]);
                    return 1;
                }
        return 0;
    case COND_TYPE:
        if (*file->type && file_glob_list(cond, file->type)) {
            buf_printf(why, "type %s", file->type);
            return 1;
        }
        return 0;
    case COND_MAGIC:
        if (file->magic.len && file_glob_list(cond, file->magic.data)) {
            buf_printf(why, "magic %s", file->magic.data);
            return 1;
        }
        return 0;
    case COND_DISPOSITION:
        if (*file->disposition && file_glob_list(cond, file->disposition)) {
            buf_printf(why, "disposition %s", file->disposition);
            return 1;
        }
        return 0;
    case COND_SIZE:
        if (file->size >= 0 && file_compare(file->size, cond)) {
            buf_printf(why, "size %lld", file->size);
            return 1;
        }
        return 0;
    case COND_DEPTH:
        buf_printf(why, "depth %d", file->depth);
        return file_compare(file->depth, cond);
    case COND_ARCHIVE_DEPTH:
        buf_printf(why, "archive-depth %d", file->archive_depth);
        return file_compare(file->archive_depth, cond);
    case COND_MALFORMED: {
        unsigned bit, bits = file->bad & cond->bits;

        for (bit = 1; bit & MIME_BAD_ALL; bit <<= 1)
            if (bits & bit)
                buf_printf(why, "%smalformed %s", why->len ? ", " : "", mime_bad_name(bit));
        return bits != 0;
    }
    case COND_NAMED:
        buf_setstr(why, "named");
        for (i = 0; i < file->nfolded; i++)
            if (*file->folded[i])
                return 1;
        return 0;
    case COND_DOUBLE_EXT:
        for (i = 0; i < file->nfolded; i++)
            if (file_double_ext(file->folded[i])) {
                buf_printf(why, "double-ext \"%s\"", file->folded[i]);
                return 1;
            }
        return 0;
    case COND_BIDI:
        buf_setstr(why, "bidi");
        return file->bidi;
    case COND_IN_ARCHIVE:
        buf_setstr(why, "in-archive");
        return file->archive_depth > 0;
    case COND_NESTED:
        buf_setstr(why, "nested");
        return file->depth > 0;
    case COND_ARCHIVE:
        buf_setstr(why, "archive");
        return file->archive;
    case COND_ENCRYPTED:
        buf_setstr(why, "encrypted");
        return file->encrypted;
    case COND_UNSCANNED:
        buf_setstr(why, "unscanned");
        return file->unscanned;
    case COND_CONTAINER:
        buf_setstr(why, "container");
        return file->container;
    }
    return 0;
}

/*
 * attach_file_judge - the first rule the file meets, or NULL; detail says
 * what made each of its conditions hold ("ext exe, in-archive").
 */
const struct attach_rule *attach_file_judge(const struct attach_policy *policy,
                                            const struct attach_file *file, struct buf *detail)
{
    struct buf why = BUF_INIT;
    size_t r, c;

    for (r = 0; r < policy->nrules; r++) {
        const struct attach_rule *rule = &policy->rules[r];

        buf_reset(detail);
        for (c = 0; c < rule->nconds; c++) {
            const struct attach_cond *cond = &rule->conds[c];
            int held = file_cond(file, cond, &why);

            if (held == cond->negate)
                break;
            if (!cond->negate && why.len)
                buf_printf(detail, "%s%s", detail->len ? ", " : "", why.data);
        }
        if (c == rule->nconds) {
            buf_free(&why);
            return rule;
        }
    }
    buf_reset(detail);
    buf_free(&why);
    return NULL;
}

/* Types and extensions of what libarchive can open. */
static const char *const archive_types[] = {
    "application/zip", "application/x-zip*", "application/x-rar*", "application/vnd.rar",
    "application/x-7z-compressed", "application/gzip", "application/x-gzip", "application/x-tar",
    "application/x-gtar", "application/x-bzip2", "application/x-xz", "application/x-lzma",
    "application/x-lzip", "application/zstd", "application/x-compress", "application/x-cpio",
    "application/x-iso9660-image", "application/vnd.ms-cab-compressed", "application/x-lzh*",
    "application/x-lha", "application/java-archive", "application/x-archive", "application/x-xar",
    "application/vnd.openxmlformats-officedocument.*", "application/vnd.ms-*.macroenabled*",
    "application/vnd.oasis.opendocument.*", "application/epub+zip", "application/x-cd-image",
    NULL,
};
static const char *const archive_exts[] = {
    "zip", "rar", "7z", "tar", "gz", "tgz", "bz2", "tbz", "tbz2", "xz", "txz", "lzma", "lz",
    "zst", "z", "cpio", "iso", "img", "cab", "lzh", "lha", "jar", "xar", "docx", "docm", "dotm",
    "xlsx", "xlsm", "xltm", "xlam", "pptx", "pptm", "potm", "ppsm", "ppam", "sldm", "odt", "ods",
    "odp", "epub", NULL,
};

/* attach_looks_archive - the content, the declared type or a name says archive */
int attach_looks_archive(const struct attach_file *file)
{
    size_t i, k;

    for (k = 0; archive_types[k]; k++)
        if ((file->magic.len && fnmatch(archive_types[k], file->magic.data, FNM_CASEFOLD) == 0) ||
            (*file->type && fnmatch(archive_types[k], file->type, FNM_CASEFOLD) == 0))
            return 1;
    for (i = 0; i < file->nfolded; i++)
        for (k = 0; archive_exts[k]; k++)
            if (file_has_ext(file->folded[i], archive_exts[k]))
                return 1;
    return 0;
}
