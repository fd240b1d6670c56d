/*
 * mime_walk.c - walk the MIME parts of a message with GMime (see mime_walk.h).
 *
 * The walk has two passes.  The first parses the message (GMime, from the
 * file descriptor, contents left in the file), numbers the parts and
 * records for each what its headers say; GMime's parser warnings, which
 * carry stream offsets, are then given to the part whose headers start at
 * or before the offset.  The second pass hands each part to the caller.
 *
 * What it trusts: nothing in the message.  Every count is bounded by
 * struct mime_walk_limits.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "libmatch/mem.h"
#include "libmatch/mime_walk.h"

#define MIME_WALK_CHUNK 65536 /* bytes read from a part's content at a time */

/* What GMime's parser warned about, with the stream offset it gave. */
struct walk_warning {
    gint64 offset;
    unsigned bad;
};

/* One part, as the first pass found it. */
struct walk_part {
    struct mime_part pub;
    struct buf section;
    struct buf type;
    struct buf disposition;
    struct buf filename;
    char **names;
    size_t nnames;
    gint64 start;       /* stream offset of its first header, or of its content */
    GMimeObject *object; /* borrowed from the message */
};

/* The state of one walk. */
struct walk {
    const struct mime_walk_limits *limits;
    struct walk_part *parts;
    size_t nparts;
    size_t cap;
    struct walk_warning *warnings;
    size_t nwarnings;
    size_t wcap;
    unsigned overflow;  /* MIME_BAD_PARTS / MIME_BAD_NESTING for the top part */
    GMimeStream *whole; /* the message, for a message GMime cannot parse at all */
};

static pthread_once_t mime_walk_once = PTHREAD_ONCE_INIT;

static void mime_walk_init_once(void)
{
    g_mime_init();
}

/* mime_walk_init - initialize GMime once; safe from any thread, any number of times */
void mime_walk_init(void)
{
    pthread_once(&mime_walk_once, mime_walk_init_once);
}

/* mime_bad_name - the policy-file word for one MIME_BAD_* bit */
const char *mime_bad_name(unsigned bit)
{
    switch (bit) {
    case MIME_BAD_BOUNDARY: return "boundary";
    case MIME_BAD_BASE64: return "base64";
    case MIME_BAD_ENCODING: return "encoding";
    case MIME_BAD_DUPLICATE: return "duplicate";
    case MIME_BAD_CONFLICT: return "conflict";
    case MIME_BAD_NAMES: return "names";
    case MIME_BAD_HEADER: return "header";
    case MIME_BAD_TRUNCATED: return "truncated";
    case MIME_BAD_NESTING: return "nesting";
    case MIME_BAD_PARTS: return "parts";
    default: return NULL;
    }
}

/* walk_is_content_header - a header that describes MIME content */
static int walk_is_content_header(const char *name)
{
    return name && (g_ascii_strncasecmp(name, "Content-", 8) == 0 ||
                    g_ascii_strcasecmp(name, "MIME-Version") == 0);
}

/* walk_warn - GMime's parser warning callback: keep what matters for attachments */
static void walk_warn(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer data)
{
    struct walk *w = data;
    unsigned bad = 0;

    switch (code) {
    case GMIME_WARN_DUPLICATED_HEADER:
        bad = walk_is_content_header(item) ? MIME_BAD_DUPLICATE : 0;
        break;
    case GMIME_CRIT_CONFLICTING_HEADER:
        bad = walk_is_content_header(item) ? MIME_BAD_CONFLICT : 0;
        break;
    case GMIME_WARN_INVALID_CONTENT_TYPE:
    case GMIME_CRIT_INVALID_HEADER_NAME:
    case GMIME_WARN_MALFORMED_MESSAGE:
        bad = MIME_BAD_HEADER;
        break;
    case GMIME_WARN_MALFORMED_MULTIPART:
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
    case GMIME_WARN_PART_WITHOUT_CONTENT:
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
        bad = MIME_BAD_BOUNDARY;
        break;
    case GMIME_WARN_TRUNCATED_MESSAGE:
        bad = MIME_BAD_TRUNCATED;
        break;
    case GMIME_CRIT_NESTING_OVERFLOW:
        bad = MIME_BAD_NESTING;
        break;
    default:
        /* Parameters are checked per part (walk_names); 8-bit and
         * RFC 2047 trouble in Subject or From says nothing about files. */
        break;
    }
    if (bad == 0)
        return;
    if (w->nwarnings == w->wcap) {
        w->wcap = w->wcap ? 2 * w->wcap : 16;
        w->warnings = mem_realloc_array(w->warnings, w->wcap, sizeof(*w->warnings));
    }
    w->warnings[w->nwarnings].offset = offset;
    w->warnings[w->nwarnings].bad = bad;
    w->nwarnings++;
}

/* walk_lower - copy text in lower case */
static void walk_lower(struct buf *out, const char *text)
{
    buf_reset(out);
    for (; text && *text; text++)
        buf_addch(out, tolower((unsigned char) *text));
}

/* walk_add_name - remember a decoded file name once */
static void walk_add_name(struct walk_part *p, const char *value)
{
    size_t i;

    if (value == NULL)
        return;
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value == 0)
        return;
    for (i = 0; i < p->nnames; i++)
        if (strcmp(p->names[i], value) == 0)
            return;
    p->names = mem_realloc_array(p->names, p->nnames + 2, sizeof(*p->names));
    p->names[p->nnames++] = mem_strdup(value);
    p->names[p->nnames] = NULL;
}

/* walk_params - names from one parsed header's parameters; duplicates and conflicts */
static void walk_params(struct walk_part *p, GMimeParamList *list, const char *want)
{
    int n = list ? g_mime_param_list_length(list) : 0;
    int i, j;

    for (i = 0; i < n; i++) {
        GMimeParam *a = g_mime_param_list_get_parameter_at(list, i);
        const char *name = g_mime_param_get_name(a);

        if (g_ascii_strcasecmp(name, want) == 0)
            walk_add_name(p, g_mime_param_get_value(a));
        for (j = i + 1; j < n; j++) {
            GMimeParam *b = g_mime_param_list_get_parameter_at(list, j);

            if (g_ascii_strcasecmp(name, g_mime_param_get_name(b)) != 0)
                continue;
            if (g_strcmp0(g_mime_param_get_value(a), g_mime_param_get_value(b)) == 0)
                p->pub.bad |= MIME_BAD_DUPLICATE;
            else
                p->pub.bad |= MIME_BAD_CONFLICT;
        }
    }
}

/* walk_same_value - two raw header values equal but for folding white space */
static int walk_same_value(const char *a, const char *b)
{
    for (;;) {
        while (*a && isspace((unsigned char) *a))
            a++;
        while (*b && isspace((unsigned char) *b))
            b++;
        if (*a == 0 || *b == 0)
            return *a == *b;
        if (*a++ != *b++)
            return 0;
    }
}

/* walk_known_encoding - a Content-Transfer-Encoding value GMime decodes or passes as is */
static int walk_known_encoding(const char *value)
{
    static const char *const known[] = {
        "7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "uuencode", "x-uue", NULL,
    };
    struct buf v = BUF_INIT;
    int i, found = 0;

    buf_setstr(&v, value);
    buf_trim(&v);
    for (i = 0; known[i] && !found; i++)
        found = g_ascii_strcasecmp(v.data, known[i]) == 0;
    buf_free(&v);
    return found;
}

/*
 * walk_headers - what a part's own headers say: every file name in every
 * copy of Content-Type and Content-Disposition, repeated and conflicting
 * copies, an unknown transfer encoding, and where its headers start.
 */
static void walk_headers(struct walk_part *p, GMimeObject *obj)
{
    static const char *const once[] = { "Content-Type", "Content-Disposition",
                                        "Content-Transfer-Encoding", NULL };
    GMimeHeaderList *list = g_mime_object_get_header_list(obj);
    int n = list ? g_mime_header_list_get_count(list) : 0;
    const char *first[3] = { NULL, NULL, NULL };
    int i, k;

    for (i = 0; i < n; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
        const char *name = g_mime_header_get_name(h);
        const char *raw = g_mime_header_get_raw_value(h);
        gint64 off = g_mime_header_get_offset(h);

        if (off >= 0 && (p->start < 0 || off < p->start))
            p->start = off;
        if (raw == NULL)
            continue;
        for (k = 0; once[k]; k++) {
            if (g_ascii_strcasecmp(name, once[k]) != 0)
                continue;
            if (first[k] == NULL)
                first[k] = raw;
            else if (walk_same_value(first[k], raw))
                p->pub.bad |= MIME_BAD_DUPLICATE;
            else
                p->pub.bad |= MIME_BAD_CONFLICT;
        }
        if (g_ascii_strcasecmp(name, "Content-Type") == 0) {
            GMimeContentType *ct = g_mime_content_type_parse(NULL, raw);

            walk_params(p, g_mime_content_type_get_parameters(ct), "name");
            g_object_unref(ct);
        } else if (g_ascii_strcasecmp(name, "Content-Disposition") == 0) {
            GMimeContentDisposition *cd = g_mime_content_disposition_parse(NULL, raw);

            walk_params(p, g_mime_content_disposition_get_parameters(cd), "filename");
            g_object_unref(cd);
        } else if (g_ascii_strcasecmp(name, "Content-Transfer-Encoding") == 0) {
            if (!walk_known_encoding(raw))
                p->pub.bad |= MIME_BAD_ENCODING;
        }
    }
    if (p->nnames > 1)
        p->pub.bad |= MIME_BAD_NAMES;
}

/* walk_add - record one part (1st pass); 0, or -1 past the part limit */
static int walk_add(struct walk *w, GMimeObject *obj, const char *section, enum mime_kind kind,
                    int depth, unsigned bad)
{
    struct walk_part *p;
    GMimeContentType *ct;
    GMimeContentDisposition *cd;
    const char *fname = NULL;

    if (w->nparts >= w->limits->parts_max) {
        w->overflow |= MIME_BAD_PARTS;
        return -1;
    }
    if (w->nparts == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 16;
        w->parts = mem_realloc_array(w->parts, w->cap, sizeof(*w->parts));
    }
    p = &w->parts[w->nparts++];
    memset(p, 0, sizeof(*p));
    buf_init(&p->section);
    buf_init(&p->type);
    buf_init(&p->disposition);
    buf_init(&p->filename);
    buf_setstr(&p->section, section);
    p->object = obj;
    p->start = -1;
    p->pub.kind = kind;
    p->pub.depth = depth;
    p->pub.bad = bad;
    if (obj == NULL) {
        buf_setstr(&p->type, "application/octet-stream");
        return 0;
    }
    ct = g_mime_object_get_content_type(obj);
    if (ct) {
        char *mt = g_mime_content_type_get_mime_type(ct);

        walk_lower(&p->type, mt);
        g_free(mt);
    }
    cd = g_mime_object_get_content_disposition(obj);
    if (cd) {
        walk_lower(&p->disposition, g_mime_content_disposition_get_disposition(cd));
        fname = g_mime_content_disposition_get_parameter(cd, "filename");
    }
    if ((fname == NULL || *fname == 0) && ct)
        fname = g_mime_content_type_get_parameter(ct, "name");
    buf_setstr(&p->filename, fname ? fname : "");
    buf_trim(&p->filename);
    walk_headers(p, obj);
    if (kind == MIME_MULTIPART) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);

        if (g_mime_multipart_get_count(mp) == 0 || !mp->write_end_boundary)
            p->pub.bad |= MIME_BAD_BOUNDARY;
    }
    if (kind == MIME_LEAF && p->start < 0 && GMIME_IS_PART(obj)) {
        GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(obj));
        GMimeStream *s = dw ? g_mime_data_wrapper_get_stream(dw) : NULL;

        if (s)
            p->start = s->bound_start;
    }
    return 0;
}

static int walk_object(struct walk *w, GMimeObject *obj, const char *section, const char *prefix,
                       int depth);

/* walk_body - the body of a message (outer, or inside message/rfc822 part prefix) */
static int walk_body(struct walk *w, GMimeObject *body, const char *prefix, int depth)
{
    struct buf sec = BUF_INIT;
    int ret;

    if (GMIME_IS_MULTIPART(body))
        buf_printf(&sec, "%s%s0", prefix, *prefix ? "." : "");
    else
        buf_printf(&sec, "%s%s1", prefix, *prefix ? "." : "");
    ret = walk_object(w, body, sec.data, prefix, depth);
    buf_free(&sec);
    return ret;
}

/* walk_object - record obj and everything inside it (1st pass) */
static int walk_object(struct walk *w, GMimeObject *obj, const char *section, const char *prefix,
                       int depth)
{
    struct buf sec = BUF_INIT;
    int i, n, ret = 0;

    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);

        if (walk_add(w, obj, section, MIME_MULTIPART, depth, 0) < 0)
            return -1;
        /* Children are numbered after prefix: the enclosing message's
         * number for a message's body, the multipart's own otherwise. */
        n = g_mime_multipart_get_count(mp);
        for (i = 0; i < n && ret == 0; i++) {
            buf_reset(&sec);
            buf_printf(&sec, "%s%s%d", prefix, *prefix ? "." : "", i + 1);
            ret = walk_object(w, g_mime_multipart_get_part(mp, i), sec.data, sec.data, depth);
        }
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        GMimeObject *body = inner ? g_mime_message_get_mime_part(inner) : NULL;
        int too_deep = body && depth + 1 > w->limits->depth_max;

        if (walk_add(w, obj, section, MIME_MESSAGE, depth, too_deep ? MIME_BAD_NESTING : 0) < 0)
            return -1;
        if (body && !too_deep)
            ret = walk_body(w, body, section, depth + 1);
    } else {
        ret = walk_add(w, obj, section, MIME_LEAF, depth, 0);
    }
    buf_free(&sec);
    return ret;
}

/* walk_assign - give each parser warning to the part whose headers start at or before it */
static void walk_assign(struct walk *w)
{
    size_t i, j, best;

    for (i = 0; i < w->nwarnings; i++) {
        best = 0;
        if (w->warnings[i].offset >= 0)
            for (j = 0; j < w->nparts; j++)
                if (w->parts[j].start >= 0 && w->parts[j].start <= w->warnings[i].offset &&
                    w->parts[j].start >= w->parts[best].start)
                    best = j;
        if (w->nparts > 0)
            w->parts[best].pub.bad |= w->warnings[i].bad;
    }
    if (w->nparts > 0)
        w->parts[0].pub.bad |= w->overflow;
}

/* walk_free - release the first pass's records */
static void walk_free(struct walk *w)
{
    size_t i, k;

    for (i = 0; i < w->nparts; i++) {
        struct walk_part *p = &w->parts[i];

        buf_free(&p->section);
        buf_free(&p->type);
        buf_free(&p->disposition);
        buf_free(&p->filename);
        for (k = 0; k < p->nnames; k++)
            mem_free(p->names[k]);
        mem_free(p->names);
    }
    mem_free(w->parts);
    mem_free(w->warnings);
}

/* mime_walk_tmpfd - an unnamed temporary file in $TMPDIR (or /tmp); -1 with err */
int mime_walk_tmpfd(struct buf *err)
{
    const char *dir = getenv("TMPDIR");
    struct buf path = BUF_INIT;
    int fd;

    if (dir == NULL || *dir == 0)
        dir = "/tmp";
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        buf_printf(&path, "%s/mailsift-XXXXXX", dir);
        fd = mkostemp(path.data, O_CLOEXEC);
        if (fd >= 0)
            (void) unlink(path.data);
    }
    if (fd < 0)
        buf_printf(err, "cannot create a temporary file in %s: %s", dir, strerror(errno));
    buf_free(&path);
    return fd;
}

/* walk_spool - copy a non-seekable input to a temporary file; its fd, or -1 */
static int walk_spool(int fd, struct buf *err)
{
    char *chunk = mem_alloc(MIME_WALK_CHUNK);
    int out = mime_walk_tmpfd(err);
    ssize_t n, w, done;

    while (out >= 0 && (n = read(fd, chunk, MIME_WALK_CHUNK)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            buf_printf(err, "cannot read the message: %s", strerror(errno));
            close(out);
            out = -1;
            break;
        }
        for (done = 0; done < n; done += w) {
            if ((w = write(out, chunk + done, n - done)) < 0) {
                if (errno == EINTR) {
                    w = 0;
                    continue;
                }
                buf_printf(err, "cannot write a temporary file: %s", strerror(errno));
                close(out);
                out = -1;
                break;
            }
        }
    }
    mem_free(chunk);
    if (out >= 0 && lseek(out, 0, SEEK_SET) < 0) {
        buf_printf(err, "cannot rewind a temporary file: %s", strerror(errno));
        close(out);
        out = -1;
    }
    return out;
}

/*
 * mime_walk_fd - parse the message in fd and call fn for every part, in
 * message order.  Returns 0 when every part was seen (malformed or not),
 * fn's nonzero value when it stopped the walk, -1 when the message could
 * not be read (err says why).
 */
int mime_walk_fd(int fd, const struct mime_walk_limits *limits, mime_walk_fn fn, void *ctx,
                 struct buf *err)
{
    struct mime_walk_limits lim = { MIME_WALK_PARTS_MAX, MIME_WALK_DEPTH_MAX, "", 0 };
    struct buf first = BUF_INIT;
    struct walk w;
    GMimeStream *stream;
    GMimeParser *parser;
    GMimeParserOptions *options;
    GMimeMessage *message;
    GMimeObject *body;
    int spooled = -1;
    size_t i;
    int ret = 0;

    mime_walk_init();
    if (limits && limits->parts_max)
        lim.parts_max = limits->parts_max;
    if (limits && limits->depth_max)
        lim.depth_max = limits->depth_max;
    if (limits && limits->prefix)
        lim.prefix = limits->prefix;
    if (limits)
        lim.depth = limits->depth;
    if (lseek(fd, 0, SEEK_SET) < 0) {
        if (errno != ESPIPE) {
            buf_printf(err, "cannot rewind the message: %s", strerror(errno));
            return -1;
        }
        if ((spooled = walk_spool(fd, err)) < 0)
            return -1;
        fd = spooled;
    }
    memset(&w, 0, sizeof(w));
    w.limits = &lim;
    stream = g_mime_stream_fs_new(fd);
    g_mime_stream_fs_set_owner(GMIME_STREAM_FS(stream), FALSE);
    parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    g_mime_parser_set_persist_stream(parser, TRUE);
    options = g_mime_parser_options_new();
    g_mime_parser_options_set_warning_callback(options, walk_warn, &w);
    message = g_mime_parser_construct_message(parser, options);
    body = message ? g_mime_message_get_mime_part(message) : NULL;
    if (body == NULL) {
        /* Nothing GMime can read as a message: one part, the whole of it. */
        w.whole = stream;
        buf_printf(&first, "%s%s1", lim.prefix, *lim.prefix ? "." : "");
        walk_add(&w, NULL, first.data, MIME_LEAF, lim.depth, MIME_BAD_HEADER);
    } else {
        walk_body(&w, body, lim.prefix, lim.depth);
    }
    buf_free(&first);
    walk_assign(&w);
    for (i = 0; i < w.nparts && ret == 0; i++) {
        struct walk_part *p = &w.parts[i];

        p->pub.section = p->section.data;
        p->pub.type = p->type.data;
        p->pub.disposition = p->disposition.data;
        p->pub.filename = p->filename.data;
        p->pub.names = (const char *const *) p->names;
        p->pub.nnames = p->nnames;
        p->pub.priv = p->object ? (void *) p->object : (void *) w.whole;
        ret = fn(&p->pub, ctx);
    }
    walk_free(&w);
    if (message)
        g_object_unref(message);
    g_object_unref(parser);
    g_mime_parser_options_free(options);
    g_object_unref(stream);
    if (spooled >= 0)
        close(spooled);
    return ret;
}

/* The base64 checker's state: where in a 4-character quantum we are. */
struct b64_check {
    unsigned long chars; /* alphabet characters and '=' seen */
    int pad;             /* '=' seen: only more '=' and white space may follow */
    int bad;
};

/* b64_check_step - look at raw base64 text the way a strict decoder would */
static void b64_check_step(struct b64_check *c, const unsigned char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len && !c->bad; i++) {
        unsigned char ch = s[i];

        if (ch == '\r' || ch == '\n' || ch == ' ' || ch == '\t')
            continue;
        if (ch == '=') {
            /* Padding only in the last two places of a quantum. */
            if (c->chars % 4 < 2)
                c->bad = 1;
            c->pad = 1;
            c->chars++;
        } else if (isalnum(ch) || ch == '+' || ch == '/') {
            /* Text after padding: decoders disagree on what follows. */
            if (c->pad)
                c->bad = 1;
            c->chars++;
        } else {
            c->bad = 1;
        }
    }
}

/*
 * mime_walk_content - decode a leaf part's content and hand it to sink a
 * chunk at a time.  Sets MIME_BAD_BASE64 in *bad when its base64 is broken
 * (the decoding goes on as GMime does it).  Returns 0 when all was read,
 * sink's nonzero value when it stopped, -1 on a read error (err says why).
 * Containers have no content: 0 at once.
 */
int mime_walk_content(const struct mime_part *part, mime_sink_fn sink, void *ctx, unsigned *bad,
                      struct buf *err)
{
    GMimeStream *raw = NULL;
    GMimeContentEncoding enc = GMIME_CONTENT_ENCODING_DEFAULT;
    GMimeEncoding state;
    struct b64_check check = { 0, 0, 0 };
    char *in, *out;
    ssize_t n;
    size_t outlen;
    int ret = 0;

    if (part->kind != MIME_LEAF || part->priv == NULL)
        return 0;
    if (GMIME_IS_STREAM(part->priv)) {
        raw = part->priv;
    } else if (GMIME_IS_PART(part->priv)) {
        GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(part->priv));

        if (dw == NULL)
            return 0;
        raw = g_mime_data_wrapper_get_stream(dw);
        enc = g_mime_data_wrapper_get_encoding(dw);
    }
    if (raw == NULL)
        return 0;
    if (g_mime_stream_reset(raw) < 0) {
        buf_printf(err, "cannot rewind part %s", part->section);
        return -1;
    }
    g_mime_encoding_init_decode(&state, enc);
    in = mem_alloc(MIME_WALK_CHUNK);
    out = mem_alloc(g_mime_encoding_outlen(&state, MIME_WALK_CHUNK) + 16);
    for (;;) {
        n = g_mime_stream_eos(raw) ? 0 : g_mime_stream_read(raw, in, MIME_WALK_CHUNK);
        if (n < 0 && g_mime_stream_eos(raw))
            n = 0;
        if (n < 0) {
            buf_printf(err, "cannot read part %s: %s", part->section, strerror(errno));
            ret = -1;
            break;
        }
        if (enc == GMIME_CONTENT_ENCODING_BASE64)
            b64_check_step(&check, (unsigned char *) in, n);
        if (n == 0) {
            outlen = g_mime_encoding_flush(&state, in, 0, out);
            if (outlen > 0)
                ret = sink(out, outlen, ctx);
            break;
        }
        if (enc == GMIME_CONTENT_ENCODING_DEFAULT || enc == GMIME_CONTENT_ENCODING_7BIT ||
            enc == GMIME_CONTENT_ENCODING_8BIT || enc == GMIME_CONTENT_ENCODING_BINARY) {
            ret = sink(in, n, ctx);
        } else {
            outlen = g_mime_encoding_step(&state, in, n, out);
            ret = outlen > 0 ? sink(out, outlen, ctx) : 0;
        }
        if (ret != 0)
            break;
    }
    /* A cut quantum counts only when the whole text was seen. */
    if (enc == GMIME_CONTENT_ENCODING_BASE64 && (check.bad || (n == 0 && check.chars % 4 != 0)))
        *bad |= MIME_BAD_BASE64;
    mem_free(in);
    mem_free(out);
    return ret;
}
