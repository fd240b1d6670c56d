/*
 * attach_int.h - the attachment policy's insides, shared by its files:
 *
 *   attach_policy.c  the policy file: parse, check, free
 *   attach_file.c    a "file" (MIME part or archive member): names, rule matching
 *   attach_judge.c   the walk over a message: parts, contents, verdict
 *   attach_archive.c archive listing with libarchive, nested to a depth
 *   attach_magic.c   content types with libmagic, one cookie per thread
 *
 * Nothing here is for milterd's other modules: they use attach.h.
 */
#ifndef MAILSIFT_ATTACH_INT_H
#define MAILSIFT_ATTACH_INT_H

#include <stddef.h>

#include "libmatch/buf.h"
#include "milterd/attach.h"

/* Defaults of the policy's settings ("set NAME = VALUE"). */
#define ATTACH_ARCHIVE_DEPTH 3              /* archives inside archives opened */
#define ATTACH_ARCHIVE_MEMBERS 10000        /* members listed per archive */
#define ATTACH_ARCHIVE_SIZE (100L << 20)    /* bytes of one archive spooled for listing */
#define ATTACH_PARTS 1000                   /* MIME parts per message */
#define ATTACH_NESTING 10                   /* message/rfc822 levels */
#define ATTACH_HEAD (64 * 1024)             /* bytes of content libmagic looks at */
#define ATTACH_SETTING_MAX (1L << 40)       /* no setting is larger */

/* Conditions a rule can make. */
enum attach_cond_kind {
    COND_NAME,          /* name=GLOB,...      a decoded file name matches */
    COND_EXT,           /* ext=EXT,...        a file name ends in .EXT */
    COND_TYPE,          /* type=GLOB,...      declared Content-Type */
    COND_MAGIC,         /* magic=GLOB,...     type libmagic detects */
    COND_DISPOSITION,   /* disposition=WORD,... */
    COND_SIZE,          /* size OP N */
    COND_DEPTH,         /* depth OP N         message/rfc822 levels around it */
    COND_ARCHIVE_DEPTH, /* archive-depth OP N archives around it */
    COND_MALFORMED,     /* malformed[=KIND,...] */
    COND_NAMED,         /* has a file name */
    COND_DOUBLE_EXT,    /* name.doc.exe */
    COND_BIDI,          /* a name with bidirectional control characters */
    COND_IN_ARCHIVE,    /* an archive member */
    COND_NESTED,        /* inside message/rfc822 */
    COND_ARCHIVE,       /* an archive that was opened or tried */
    COND_ENCRYPTED,     /* an encrypted archive or member */
    COND_UNSCANNED,     /* an archive that could not be listed in full */
    COND_CONTAINER,     /* a multipart or message/rfc822 part */
};

enum attach_op { OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE };

struct attach_cond {
    enum attach_cond_kind kind;
    int negate;
    char **list;        /* NAME, EXT (case-folded), TYPE, MAGIC, DISPOSITION */
    size_t nlist;
    enum attach_op op;  /* SIZE, DEPTH, ARCHIVE_DEPTH */
    long long num;
    unsigned bits;      /* MALFORMED: MIME_BAD_* (all of them for plain "malformed") */
};

struct attach_rule {
    struct buf where;   /* "FILE:LINE" */
    struct attach_cond *conds;
    size_t nconds;
    enum attach_action action;
    struct buf text;
};

struct attach_policy {
    char *path;
    struct attach_rule *rules;
    size_t nrules;
    long archive_depth;
    long archive_members;
    long archive_size;
    long parts;
    long nesting;
    int need_magic;     /* a rule looks at magic= */
};

/* A file as rules see it: a MIME part or an archive member. */
struct attach_file {
    const char *section;        /* MIME part number */
    const char *partname;       /* the part's display name */
    const char *const *names;   /* decoded names (raw, as the message gives them) */
    size_t nnames;
    struct buf member;          /* path inside archives, "" for a part */
    const char *type;           /* declared type, "" for members */
    const char *disposition;
    struct buf magic;           /* detected type, "" until known */
    long long size;             /* decoded bytes, -1 unknown */
    int depth;
    int archive_depth;
    int container;
    int archive;
    int encrypted;
    int unscanned;
    unsigned bad;
    int bidi;                   /* a name holds a bidirectional control (attach_file_prepare) */
    char **folded;              /* names, Windows-cleaned and case-folded (attach_file_prepare) */
    size_t nfolded;
};

/* attach_file.c */
void attach_file_init(struct attach_file *file);
void attach_file_prepare(struct attach_file *file);
void attach_file_free(struct attach_file *file);
char *attach_fold(const char *text);
void attach_clean_name(struct buf *name);
const struct attach_rule *attach_file_judge(const struct attach_policy *policy,
                                            const struct attach_file *file, struct buf *detail);
int attach_looks_archive(const struct attach_file *file);

/*
 * The content of a file as it streams by (attach_judge.c): its first
 * ATTACH_HEAD bytes, its size, and, when it turns out to be an archive
 * that may be opened, all of it in an unnamed temporary file.
 */
struct attach_content {
    const struct attach_policy *policy;
    struct attach_file *file;
    int may_open;           /* archives inside it are within archive_depth */
    int decided;            /* magic and archive-ness are known */
    struct buf head;
    long long size;
    int fd;                 /* the spool, -1 when none */
    int over;               /* longer than archive_size: not spooled in full */
    int spool_all;          /* an encoded message/rfc822: keep all of it to walk it */
    struct buf *err;        /* where judge_sink reports a spool failure */
};

void attach_content_init(struct attach_content *c, const struct attach_policy *policy,
                         struct attach_file *file, int may_open);
int attach_content_add(struct attach_content *c, const char *data, size_t len, struct buf *err);
int attach_content_end(struct attach_content *c, struct buf *err);
int attach_content_wants_more(const struct attach_content *c);
void attach_content_free(struct attach_content *c);

/* attach_magic.c */
int attach_magic_check(struct buf *err);
int attach_magic_type(const void *data, size_t len, struct buf *type, struct buf *err);

/* attach_archive.c: list the archive in fd (or in head when fd < 0) */
struct attach_judgement;
typedef int (*attach_member_fn)(struct attach_file *member, void *ctx);
int attach_archive_list(const struct attach_policy *policy, struct attach_file *archive,
                        const char *data, size_t len, int fd, attach_member_fn fn, void *ctx,
                        struct buf *err);

#endif
