/*
 * attach_judge.c - judge a message against an attachment policy.
 *
 * The message is walked with libmatch's mime_walk (GMime).  Each part is
 * a file; a leaf part's content is decoded once, as a stream: its size is
 * counted, its first bytes go to libmagic, its base64 is checked, and if it
 * is an archive it is spooled to an unnamed temporary file and listed
 * (attach_archive.c), each member a file too.  Each file meets at most one
 * rule, the first; the strongest action over all files is the verdict.
 * A REJECT cannot be outdone, so the walk stops there.
 *
 * What it trusts: the policy (loaded and checked); nothing in the message.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/mime_walk.h"
#include "milterd/attach_int.h"

/* The state of one judgement. */
struct judge {
    const struct attach_policy *policy;
    struct attach_verdict *verdict;
    struct buf *err;
    struct buf detail;
    int failed;
};

/* attach_content_init - nothing seen yet */
void attach_content_init(struct attach_content *c, const struct attach_policy *policy,
                         struct attach_file *file, int may_open)
{
    memset(c, 0, sizeof(*c));
    c->policy = policy;
    c->file = file;
    c->may_open = may_open;
    c->fd = -1;
    buf_init(&c->head);
}

/* attach_content_free - close the spool */
void attach_content_free(struct attach_content *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    buf_free(&c->head);
}

/* content_write - all of data to the spool; -1 with err */
static int content_write(int fd, const char *data, size_t len, struct buf *err)
{
    ssize_t n;

    while (len > 0) {
        if ((n = write(fd, data, len)) < 0) {
            if (errno == EINTR)
                continue;
            buf_printf(err, "cannot write a temporary file: %s", strerror(errno));
            return -1;
        }
        data += n;
        len -= n;
    }
    return 0;
}

/*
 * content_decide - the head is complete: its type, and whether it is an
 * archive to spool (more_coming: the head is full, there may be more).
 */
static int content_decide(struct attach_content *c, int more_coming, struct buf *err)
{
    struct attach_file *f = c->file;

    c->decided = 1;
    if (c->head.len > 0 && attach_magic_type(c->head.data, c->head.len, &f->magic, err) < 0)
        return -1;
    if (c->spool_all) {
        if (!more_coming)
            return 0;
        if ((c->fd = mime_walk_tmpfd(err)) < 0)
            return -1;
        return content_write(c->fd, c->head.data, c->head.len, err);
    }
    if (f->container || !attach_looks_archive(f))
        return 0;
    f->archive = 1;
    if (!c->may_open) {
        f->unscanned = 1;
        return 0;
    }
    if (more_coming) {
        if ((c->fd = mime_walk_tmpfd(err)) < 0)
            return -1;
        return content_write(c->fd, c->head.data, c->head.len, err);
    }
    return 0;
}

/* attach_content_add - the next bytes of the content; -1 with err */
int attach_content_add(struct attach_content *c, const char *data, size_t len, struct buf *err)
{
    size_t take;

    c->size += len;
    if (!c->decided) {
        take = ATTACH_HEAD - c->head.len;
        if (take > len)
            take = len;
        buf_add(&c->head, data, take);
        data += take;
        len -= take;
        if (c->head.len < ATTACH_HEAD)
            return 0;
        if (content_decide(c, 1, err) < 0)
            return -1;
    }
    if (c->fd >= 0 && len > 0) {
        if (c->size > c->policy->archive_size && !c->spool_all) {
            /* Too large to list: say so rather than look at part of it. */
            close(c->fd);
            c->fd = -1;
            c->over = 1;
            c->file->unscanned = 1;
            return 0;
        }
        return content_write(c->fd, data, len, err);
    }
    return 0;
}

/* attach_content_end - the content is over (or no more is wanted) */
int attach_content_end(struct attach_content *c, struct buf *err)
{
    return c->decided ? 0 : content_decide(c, 0, err);
}

/* attach_content_wants_more - whether the rest of the content matters */
int attach_content_wants_more(const struct attach_content *c)
{
    return !c->decided || c->fd >= 0;
}

/* judge_hit - record a file a rule matched */
static void judge_hit(struct judge *j, const struct attach_file *f, const struct attach_rule *rule)
{
    struct attach_verdict *v = j->verdict;
    struct attach_hit *h;

    v->hits = mem_realloc_array(v->hits, v->nhits + 1, sizeof(*v->hits));
    h = &v->hits[v->nhits++];
    h->action = rule->action;
    buf_init(&h->text);
    buf_init(&h->rule);
    buf_init(&h->part);
    buf_init(&h->name);
    buf_init(&h->member);
    buf_init(&h->detail);
    buf_set(&h->text, rule->text.data, rule->text.len);
    buf_set(&h->rule, rule->where.data, rule->where.len);
    buf_setstr(&h->part, f->section);
    buf_setstr(&h->name, f->partname);
    buf_set(&h->member, f->member.data, f->member.len);
    buf_set(&h->detail, j->detail.data, j->detail.len);
}

/* judge_file - the first rule that matches a file; 1 stops the walk (REJECT) */
static int judge_file(struct attach_file *f, void *ctx)
{
    struct judge *j = ctx;
    const struct attach_rule *rule;

    if (f->archive_depth > 0)
        j->verdict->members++;
    if ((rule = attach_file_judge(j->policy, f, &j->detail)) == NULL)
        return 0;
    judge_hit(j, f, rule);
    return rule->action == ATTACH_REJECT;
}

/* judge_sink - decoded content of a part, on its way to attach_content */
static int judge_sink(const char *data, size_t len, void *ctx)
{
    struct attach_content *c = ctx;

    return attach_content_add(c, data, len, c->err) < 0 ? -1 : 0;
}

static int judge_part(const struct mime_part *part, void *ctx);

/*
 * judge_embedded - a message/rfc822 part GMime left as a leaf because it is
 * base64 or quoted-printable (RFC 2046 forbids that; mail clients decode it
 * and show the message): walk its decoded content as the message it is.
 */
static int judge_embedded(struct judge *j, const struct mime_part *part, struct attach_content *c,
                          struct attach_file *f)
{
    struct mime_walk_limits limits;

    memset(&limits, 0, sizeof(limits));
    if (part->depth + 1 > j->policy->nesting) {
        f->bad |= MIME_BAD_NESTING;
        return 0;
    }
    if (c->fd < 0) {
        if ((c->fd = mime_walk_tmpfd(j->err)) < 0)
            return -1;
        if (content_write(c->fd, c->head.data, c->head.len, j->err) < 0)
            return -1;
    }
    limits.parts_max = j->policy->parts;
    limits.depth_max = (int) j->policy->nesting;
    limits.prefix = part->section;
    limits.depth = part->depth + 1;
    return mime_walk_fd(c->fd, &limits, judge_part, j, j->err);
}

/* judge_is_message - a leaf part that is a whole message in an encoding */
static int judge_is_message(const struct mime_part *part)
{
    return strcmp(part->type, "message/rfc822") == 0 || strcmp(part->type, "message/global") == 0 ||
           strcmp(part->type, "message/news") == 0;
}

/* judge_part - one MIME part: its content, its members, its rule */
static int judge_part(const struct mime_part *part, void *ctx)
{
    struct judge *j = ctx;
    struct attach_file f;
    struct attach_content c;
    int ret = 0;

    j->verdict->parts++;
    attach_file_init(&f);
    f.section = part->section;
    f.partname = part->filename;
    f.names = part->names;
    f.nnames = part->nnames;
    f.type = part->type;
    f.disposition = part->disposition;
    f.depth = part->depth;
    f.bad = part->bad;
    f.container = part->kind != MIME_LEAF;
    attach_file_prepare(&f);
    if (part->kind == MIME_LEAF) {
        attach_content_init(&c, j->policy, &f, j->policy->archive_depth > 0);
        c.err = j->err;
        c.spool_all = judge_is_message(part);
        ret = mime_walk_content(part, judge_sink, &c, &f.bad, j->err);
        if (ret == 0)
            ret = attach_content_end(&c, j->err);
        f.size = c.size;
        if (ret == 0 && c.spool_all)
            ret = judge_embedded(j, part, &c, &f);
        if (ret == 0 && f.archive && !f.unscanned)
            ret = attach_archive_list(j->policy, &f, c.head.data, c.head.len, c.fd, judge_file, j,
                                      j->err);
        attach_content_free(&c);
    }
    if (ret < 0)
        j->failed = 1;
    else if (ret == 0)
        ret = judge_file(&f, j);
    attach_file_free(&f);
    return ret;
}

/* attach_verdict_init - an empty verdict */
void attach_verdict_init(struct attach_verdict *verdict)
{
    memset(verdict, 0, sizeof(*verdict));
}

/* attach_verdict_free - release a verdict; it may be reused after */
void attach_verdict_free(struct attach_verdict *verdict)
{
    size_t i;

    for (i = 0; i < verdict->nhits; i++) {
        struct attach_hit *h = &verdict->hits[i];

        buf_free(&h->text);
        buf_free(&h->rule);
        buf_free(&h->part);
        buf_free(&h->name);
        buf_free(&h->member);
        buf_free(&h->detail);
    }
    mem_free(verdict->hits);
    attach_verdict_init(verdict);
}

/* attach_judge - judge one message (see attach.h) */
int attach_judge(const struct attach_policy *policy, int fd, struct attach_verdict *verdict,
                 struct buf *err)
{
    struct mime_walk_limits limits;
    struct judge j;
    size_t i;
    int ret;

    attach_verdict_free(verdict);
    memset(&j, 0, sizeof(j));
    j.policy = policy;
    j.verdict = verdict;
    j.err = err;
    buf_init(&j.detail);
    memset(&limits, 0, sizeof(limits));
    limits.parts_max = policy->parts;
    limits.depth_max = (int) policy->nesting;
    ret = mime_walk_fd(fd, &limits, judge_part, &j, err);
    buf_free(&j.detail);
    if (ret < 0 || j.failed)
        return -1;
    for (i = 0; i < verdict->nhits; i++)
        if (verdict->hits[i].action > verdict->action) {
            verdict->action = verdict->hits[i].action;
            verdict->hit = &verdict->hits[i];
        }
    return verdict->hit != NULL;
}

/* hit_escape - text with control characters (and, when quoting, '"' and '\') escaped */
static void hit_escape(struct buf *out, const char *s, int quoting)
{
    for (; *s; s++) {
        unsigned char ch = *s;

        if (quoting && (ch == '"' || ch == '\\'))
            buf_printf(out, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            buf_printf(out, "\\x%02x", ch);
        else
            buf_addch(out, ch);
    }
}

/* hit_quote - a name between double quotes, escaped */
static void hit_quote(struct buf *out, const char *s)
{
    buf_addch(out, '"');
    hit_escape(out, s, 1);
    buf_addch(out, '"');
}

/* attach_hit_format - part 2 "invoice.pdf.exe" rule attachment_policy:12 (ext exe) */
void attach_hit_format(const struct attach_hit *hit, struct buf *out)
{
    buf_printf(out, "part %s", hit->part.data);
    if (hit->name.len) {
        buf_addch(out, ' ');
        hit_quote(out, hit->name.data);
    }
    if (hit->member.len) {
        buf_addstr(out, " member ");
        hit_quote(out, hit->member.data);
    }
    buf_printf(out, " rule %s", hit->rule.data);
    if (hit->detail.len) {
        buf_addstr(out, " (");
        hit_escape(out, hit->detail.data, 0);
        buf_addch(out, ')');
    }
}
