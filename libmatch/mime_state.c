/*
 * mime_state.c - Postfix's MIME structure rules as a streaming state
 * machine (see mime_state.h for what it decides and why).
 *
 * States:
 *   PRIMARY    in the message's own header block
 *   MULTIPART  in the header block after a multipart boundary line
 *   NESTED     in the header block at the start of a message/rfc822 body
 *   BODY       in body text (including boundary lines and preambles)
 *
 * A header is collected in ms->header until a record arrives that is not
 * part of it; only then is it parsed (Content-Type, -Transfer-Encoding)
 * and handed to the header callback, so callbacks always lag one record.
 * The record that ends a header block is then treated as body text in the
 * same call (after the end-of-headers decisions), which is why the header
 * states fall through into the body state below.
 *
 * The byte-stream front end (mime_state_write) keeps at most one piece of
 * a line (line_length_limit bytes) and follows Postfix's smtpd: a line of
 * N >= limit bytes becomes pieces of limit bytes and a final piece of the
 * rest, which may be empty; a CR that is the last byte of a full piece
 * still counts as part of the line end when LF follows it.
 */
#include <string.h>
#include <strings.h>

#include "libmatch/mem.h"
#include "libmatch/mime_state.h"

enum mime_ctype { CTYPE_OTHER, CTYPE_TEXT, CTYPE_MESSAGE, CTYPE_MULTIPART };
enum mime_stype { STYPE_OTHER, STYPE_PLAIN, STYPE_RFC822, STYPE_PARTIAL, STYPE_EXTERN_BODY, STYPE_GLOBAL };

/* Encodings; the identity ones double as encoding domains. */
enum mime_enc { ENC_QP = 1, ENC_BASE64 = 2, ENC_7BIT = 7, ENC_8BIT = 8, ENC_BINARY = 9 };

#define STATE_PRIMARY   MIME_HDR_PRIMARY
#define STATE_MULTIPART MIME_HDR_MULTIPART
#define STATE_NESTED    MIME_HDR_NESTED
#define STATE_BODY      (MIME_HDR_NESTED + 1)

#define MIME_MAX_TOKEN 3 /* tokens we look at in one Content-Type item */

/* One open multipart level. */
struct mime_level {
    enum mime_ctype def_ctype; /* what a part is when it says nothing */
    enum mime_stype def_stype;
    char *boundary;
    size_t bound_len;
    struct mime_level *next;
};

struct mime_state {
    /* What is going on now. */
    int state;
    enum mime_ctype ctype;
    enum mime_stype stype;
    enum mime_enc encoding;
    enum mime_enc domain;
    struct buf header;     /* the header being collected */
    int prev_rec_type;     /* of the previous text record, 0 after a header */
    int nesting_level;     /* boundaries stacked, minus one */
    struct mime_level *stack;
    struct header_tok tok[MIME_MAX_TOKEN];
    struct buf tok_store;
    int errors;
    off_t head_offset;
    off_t body_offset;

    /* The byte-stream front end. */
    struct buf line;       /* bytes of the current line piece */
    int cr_pending;        /* a full piece ended in CR: wait for LF */
    int closed;

    /* Fixed at creation. */
    int options;
    struct mime_limits limits;
    struct mime_callbacks cb;
    void *ctx;
};

static const struct {
    const char *name;
    enum mime_enc encoding;
    enum mime_enc domain;
} mime_encodings[] = {
    {"7bit", ENC_7BIT, ENC_7BIT},
    {"8bit", ENC_8BIT, ENC_8BIT},
    {"binary", ENC_BINARY, ENC_BINARY},
    {"base64", ENC_BASE64, ENC_7BIT},
    {"quoted-printable", ENC_QP, ENC_7BIT},
};

static const char *mime_enc_name(enum mime_enc enc)
{
    size_t i;

    for (i = 0; i < sizeof(mime_encodings) / sizeof(mime_encodings[0]); i++)
        if (mime_encodings[i].encoding == enc)
            return mime_encodings[i].name;
    return "unknown";
}

/* mime_set_state - a new state; the offset of the new segment restarts */
static void mime_set_state(struct mime_state *ms, int state)
{
    ms->state = state;
    if (state == STATE_BODY)
        ms->body_offset = 0;
    else
        ms->head_offset = 0;
}

/* mime_set_all - a new state with new content type information */
static void mime_set_all(struct mime_state *ms, int state, enum mime_ctype ctype,
                         enum mime_stype stype, enum mime_enc enc, enum mime_enc domain)
{
    ms->ctype = ctype;
    ms->stype = stype;
    ms->encoding = enc;
    ms->domain = domain;
    mime_set_state(ms, state);
}

/* mime_report - tell the error callback about the first error of a kind */
static void mime_report(struct mime_state *ms, int err, const char *text, size_t len)
{
    if (ms->errors & err)
        return;
    if (ms->cb.error)
        ms->cb.error(ms->ctx, err, text, len);
    ms->errors |= err;
}

static void mime_head_out(struct mime_state *ms, const struct header_info *info)
{
    size_t len = ms->header.len;

    if (ms->cb.header) {
        ms->cb.header(ms->ctx, ms->state, info, &ms->header, ms->head_offset);
        ms->head_offset += (off_t) len + 1;
    }
}

static void mime_body_out(struct mime_state *ms, int rec_type, const char *text, size_t len)
{
    if (ms->cb.body) {
        ms->cb.body(ms->ctx, rec_type, text, len, ms->body_offset);
        ms->body_offset += (off_t) len + 1;
    }
}

static void mime_push(struct mime_state *ms, enum mime_ctype def_ctype, enum mime_stype def_stype,
                      const char *boundary)
{
    struct mime_level *level = mem_zalloc(sizeof(*level));

    ms->nesting_level++;
    level->def_ctype = def_ctype;
    level->def_stype = def_stype;
    level->bound_len = strlen(boundary);
    if (level->bound_len > ms->limits.mime_boundary_length_limit)
        level->bound_len = ms->limits.mime_boundary_length_limit;
    level->boundary = mem_strndup(boundary, level->bound_len);
    level->next = ms->stack;
    ms->stack = level;
}

static void mime_pop(struct mime_state *ms)
{
    struct mime_level *level = ms->stack;

    if (level == NULL)
        return;
    ms->nesting_level--;
    ms->stack = level->next;
    mem_free(level->boundary);
    mem_free(level);
}

static int mime_tok_is(const struct header_tok *tok, const char *word)
{
    return tok->type == HEADER_TOK_TOKEN && strcasecmp(tok->value, word) == 0;
}

/* mime_content_type - what a Content-Type header says about what follows */
static void mime_content_type(struct mime_state *ms, const struct header_info *info)
{
    const char *cp = ms->header.data + strlen(info->name) + 1;
    long n;

    n = header_token(ms->tok, MIME_MAX_TOKEN, &ms->tok_store, &cp, HEADER_RFC2045_TSPECIALS, ';');
    if (n <= 0)
        return;

    if (mime_tok_is(&ms->tok[0], "text")) {
        ms->ctype = CTYPE_TEXT;
        ms->stype = (n >= 3 && ms->tok[1].type == '/' && mime_tok_is(&ms->tok[2], "plain"))
                        ? STYPE_PLAIN : STYPE_OTHER;
        return;
    }

    if (mime_tok_is(&ms->tok[0], "message")) {
        ms->ctype = CTYPE_MESSAGE;
        ms->stype = STYPE_OTHER;
        if (n >= 3 && ms->tok[1].type == '/') {
            if (mime_tok_is(&ms->tok[2], "rfc822"))
                ms->stype = STYPE_RFC822;
            else if (mime_tok_is(&ms->tok[2], "partial"))
                ms->stype = STYPE_PARTIAL;
            else if (mime_tok_is(&ms->tok[2], "external-body"))
                ms->stype = STYPE_EXTERN_BODY;
            else if (mime_tok_is(&ms->tok[2], "global"))
                ms->stype = STYPE_GLOBAL;
        }
        return;
    }

    if (mime_tok_is(&ms->tok[0], "multipart")) {
        enum mime_ctype def_ctype = CTYPE_TEXT;
        enum mime_stype def_stype = STYPE_PLAIN;

        ms->ctype = CTYPE_MULTIPART;
        if (n >= 3 && ms->tok[1].type == '/' && mime_tok_is(&ms->tok[2], "digest")) {
            def_ctype = CTYPE_MESSAGE;
            def_stype = STYPE_RFC822;
        }

        /*
         * Every boundary= parameter is stacked (several are illegal, but a
         * sender could hide content behind any of them), whatever the
         * parameter's value type.
         */
        while ((n = header_token(ms->tok, MIME_MAX_TOKEN, &ms->tok_store, &cp,
                                 HEADER_RFC2045_TSPECIALS, ';')) >= 0) {
            if (n >= 3 && mime_tok_is(&ms->tok[0], "boundary") && ms->tok[1].type == '=') {
                if (ms->nesting_level > ms->limits.mime_nesting_limit) {
                    if (ms->options & MIME_OPT_REPORT_NESTING)
                        mime_report(ms, MIME_ERR_NESTING, ms->header.data, ms->header.len);
                } else {
                    mime_push(ms, def_ctype, def_stype, ms->tok[2].value);
                }
            }
        }
        return;
    }

    ms->ctype = CTYPE_OTHER;
}

/* mime_content_encoding - what a Content-Transfer-Encoding header says */
static void mime_content_encoding(struct mime_state *ms, const struct header_info *info)
{
    const char *cp = ms->header.data + strlen(info->name) + 1;
    size_t i;

    if (header_token(ms->tok, 1, &ms->tok_store, &cp, NULL, 0) > 0 && ms->tok[0].type == HEADER_TOK_TOKEN) {
        for (i = 0; i < sizeof(mime_encodings) / sizeof(mime_encodings[0]); i++) {
            if (strcasecmp(ms->tok[0].value, mime_encodings[i].name) == 0) {
                ms->encoding = mime_encodings[i].encoding;
                ms->domain = mime_encodings[i].domain;
                break;
            }
        }
    }
}

/* mime_flush_header - the collected header is complete: parse and deliver it */
static void mime_flush_header(struct mime_state *ms)
{
    const struct header_info *info;
    size_t i;

    info = header_lookup_line(ms->header.data, ms->header.len);
    if (!(ms->options & MIME_OPT_DISABLE_MIME) && info != NULL) {
        if (info->type == HEADER_CONTENT_TYPE)
            mime_content_type(ms, info);
        else if (info->type == HEADER_CONTENT_TRANSFER_ENCODING)
            mime_content_encoding(ms, info);
    }
    if ((ms->options & MIME_OPT_REPORT_8BIT_IN_HEADER) && !(ms->errors & MIME_ERR_8BIT_IN_HEADER)) {
        for (i = 0; i < ms->header.len; i++) {
            if ((unsigned char) ms->header.data[i] & 0x80) {
                mime_report(ms, MIME_ERR_8BIT_IN_HEADER, ms->header.data, ms->header.len);
                break;
            }
        }
    }
    mime_head_out(ms, info);
    ms->prev_rec_type = 0;
    buf_reset(&ms->header);
}

/* mime_header_add - append text to the collected header, up to the limit */
static void mime_header_add(struct mime_state *ms, const char *sep, const char *text, size_t len)
{
    if (ms->header.len < ms->limits.header_size_limit) {
        buf_addstr(&ms->header, sep);
        buf_add(&ms->header, text, len);
    } else if (ms->options & MIME_OPT_REPORT_TRUNC_HEADER) {
        mime_report(ms, MIME_ERR_TRUNC_HEADER, ms->header.data, ms->header.len);
    }
}

/* mime_end_of_headers - the record (text, len) ends the current header block */
static void mime_end_of_headers(struct mime_state *ms, int is_text, const char *text, size_t len)
{
    if (ms->state == STATE_PRIMARY && ms->cb.head_end)
        ms->cb.head_end(ms->ctx);

    /* message/ and multipart/ must use an identity encoding (7bit, 8bit, binary). */
    if (ms->options & MIME_OPT_REPORT_ENCODING_DOMAIN) {
        int bad = 0;

        if (ms->ctype == CTYPE_MESSAGE) {
            if (ms->stype == STYPE_PARTIAL || ms->stype == STYPE_EXTERN_BODY)
                bad = ms->domain != ENC_7BIT;
            else if (ms->stype == STYPE_RFC822)
                bad = ms->encoding != ms->domain;
        } else if (ms->ctype == CTYPE_MULTIPART) {
            bad = ms->encoding != ms->domain;
        }
        if (bad) {
            const char *name = mime_enc_name(ms->encoding);

            mime_report(ms, MIME_ERR_ENCODING_DOMAIN, name, strlen(name));
        }
    }

    if (!is_text) {
        mime_set_state(ms, STATE_BODY);
        return;
    }
    if (len == 0) {
        /* An empty line: what comes next depends on the content type. */
        ms->body_offset = 0;
        if (ms->ctype == CTYPE_MESSAGE && (ms->stype == STYPE_RFC822 || ms->stype == STYPE_GLOBAL))
            mime_set_all(ms, STATE_NESTED, CTYPE_TEXT, STYPE_PLAIN, ENC_7BIT, ENC_7BIT);
        else if (ms->ctype == CTYPE_MULTIPART)
            mime_set_all(ms, STATE_BODY, CTYPE_OTHER, STYPE_OTHER, ENC_7BIT, ENC_7BIT);
        else
            mime_set_state(ms, STATE_BODY);
        return;
    }

    /*
     * Not a header and not empty.  After the primary headers an empty body
     * line is made up (the milter protocol hides it again); attachments get
     * none.  Either way what follows is body.
     */
    if (ms->state == STATE_PRIMARY)
        mime_body_out(ms, MIME_REC_NORM, "", 0);
    (void) text;
    mime_set_state(ms, STATE_BODY);
}

/* mime_body_record - a record in body state: boundaries, then output */
static void mime_body_record(struct mime_state *ms, int rec_type, const char *text, size_t len)
{
    struct mime_level *sp;
    size_t i;

    if ((ms->options & MIME_OPT_REPORT_8BIT_IN_7BIT_BODY) && ms->encoding == ENC_7BIT
        && !(ms->errors & MIME_ERR_8BIT_IN_7BIT_BODY)) {
        for (i = 0; i < len; i++) {
            if ((unsigned char) text[i] & 0x80) {
                mime_report(ms, MIME_ERR_8BIT_IN_7BIT_BODY, text, len);
                break;
            }
        }
    }

    /* "--boundary" at the start of a line (never of a continued piece). */
    if (ms->stack && ms->prev_rec_type != MIME_REC_CONT && len > 2 && text[0] == '-' && text[1] == '-') {
        for (sp = ms->stack; sp != NULL; sp = sp->next) {
            if (len >= 2 + sp->bound_len && memcmp(text + 2, sp->boundary, sp->bound_len) == 0) {
                /* This closes every inner level. */
                while (ms->stack != sp)
                    mime_pop(ms);
                if (len >= 4 + sp->bound_len && memcmp(text + 2 + sp->bound_len, "--", 2) == 0) {
                    mime_pop(ms);
                    mime_set_all(ms, STATE_BODY, CTYPE_OTHER, STYPE_OTHER, ENC_7BIT, ENC_7BIT);
                } else {
                    mime_set_all(ms, STATE_MULTIPART, sp->def_ctype, sp->def_stype, ENC_7BIT, ENC_7BIT);
                }
                break;
            }
        }
    }
    mime_body_out(ms, rec_type, text, len);
}

/*
 * mime_state_update - feed one record (MIME_REC_NORM, MIME_REC_CONT or
 * MIME_REC_END).  Returns the errors found so far (MIME_ERR_* bits).
 */
int mime_state_update(struct mime_state *ms, int rec_type, const char *text, size_t len)
{
    int is_text = rec_type == MIME_REC_NORM || rec_type == MIME_REC_CONT;
    size_t label;

    /* A line left unfinished ends before anything else happens. */
    if (!is_text && ms->prev_rec_type == MIME_REC_CONT)
        mime_state_update(ms, MIME_REC_NORM, "", 0);

    if (ms->state != STATE_BODY) {
        if (ms->header.len > 0) {
            if (is_text) {
                /* The rest of a long line, or a continuation line. */
                if (ms->prev_rec_type == MIME_REC_CONT) {
                    mime_header_add(ms, "", text, len);
                    ms->prev_rec_type = rec_type;
                    return ms->errors;
                }
                if (len > 0 && (text[0] == ' ' || text[0] == '\t')) {
                    mime_header_add(ms, "\n", text, len);
                    ms->prev_rec_type = rec_type;
                    return ms->errors;
                }
            }
            mime_flush_header(ms);
        }

        /* The start of a header: "Name :" becomes "Name:". */
        if (is_text && (label = header_label_len(text, len)) > 0) {
            buf_set(&ms->header, text, label);
            text += label;
            len -= label;
            while (len > 0 && (text[0] == ' ' || text[0] == '\t')) {
                text++;
                len--;
            }
            buf_add(&ms->header, text, len);
            ms->prev_rec_type = rec_type;
            return ms->errors;
        }

        /* Anything else ends the header block and is body text itself. */
        mime_end_of_headers(ms, is_text, text, len);
    }

    if (is_text) {
        mime_body_record(ms, rec_type, text, len);
    } else if (ms->cb.body_end) {
        ms->cb.body_end(ms->ctx);
    }
    ms->prev_rec_type = rec_type;
    return ms->errors;
}

/* mime_state_new - a machine at the start of a message (text/plain, 7bit) */
struct mime_state *mime_state_new(int options, const struct mime_limits *limits,
                                  const struct mime_callbacks *cb, void *ctx)
{
    struct mime_state *ms = mem_zalloc(sizeof(*ms));

    ms->options = options;
    if (limits)
        ms->limits = *limits;
    if (ms->limits.line_length_limit == 0)
        ms->limits.line_length_limit = MIME_DEF_LINE_LENGTH_LIMIT;
    if (ms->limits.header_size_limit == 0)
        ms->limits.header_size_limit = MIME_DEF_HEADER_SIZE_LIMIT;
    if (ms->limits.mime_boundary_length_limit == 0)
        ms->limits.mime_boundary_length_limit = MIME_DEF_BOUNDARY_LIMIT;
    if (ms->limits.mime_nesting_limit == 0)
        ms->limits.mime_nesting_limit = MIME_DEF_NESTING_LIMIT;
    if (cb)
        ms->cb = *cb;
    ms->ctx = ctx;
    buf_init(&ms->header);
    buf_init(&ms->tok_store);
    buf_init(&ms->line);
    ms->nesting_level = -1;
    mime_set_all(ms, STATE_PRIMARY, CTYPE_TEXT, STYPE_PLAIN, ENC_7BIT, ENC_7BIT);
    ms->body_offset = 0;
    return ms;
}

/* mime_state_free - release a machine (NULL is fine) */
void mime_state_free(struct mime_state *ms)
{
    if (ms == NULL)
        return;
    while (ms->stack)
        mime_pop(ms);
    buf_free(&ms->header);
    buf_free(&ms->tok_store);
    buf_free(&ms->line);
    mem_free(ms);
}

/* mime_line_end - a line ended: one record without the trailing CRs */
static void mime_line_end(struct mime_state *ms)
{
    size_t len = ms->line.len;

    while (len > 0 && ms->line.data[len - 1] == '\r')
        len--;
    mime_state_update(ms, MIME_REC_NORM, ms->line.data, len);
    buf_reset(&ms->line);
    ms->cr_pending = 0;
}

/* mime_piece_end - a full piece of a longer line */
static void mime_piece_end(struct mime_state *ms)
{
    mime_state_update(ms, MIME_REC_CONT, ms->line.data, ms->line.len);
    buf_reset(&ms->line);
    ms->cr_pending = 0;
}

/*
 * mime_state_write - feed raw message bytes (any chunking): lines end in
 * LF or CR LF and become records as Postfix's smtpd makes them.  Returns
 * the errors found so far.
 */
int mime_state_write(struct mime_state *ms, const char *data, size_t len)
{
    size_t limit = ms->limits.line_length_limit;

    while (len > 0) {
        const char *nl;
        size_t room, take;

        if (ms->cr_pending) {
            /* A full piece ended in CR: LF makes it a line end after all. */
            if (data[0] == '\n') {
                mime_line_end(ms);
                data++;
                len--;
                continue;
            }
            mime_piece_end(ms);
        }
        room = limit - ms->line.len;
        take = len < room ? len : room;
        nl = memchr(data, '\n', take);
        if (nl != NULL) {
            buf_add(&ms->line, data, (size_t) (nl - data));
            mime_line_end(ms);
            len -= (size_t) (nl - data) + 1;
            data = nl + 1;
            continue;
        }
        buf_add(&ms->line, data, take);
        data += take;
        len -= take;
        if (ms->line.len == limit) {
            if (ms->line.data[limit - 1] == '\r')
                ms->cr_pending = 1;
            else
                mime_piece_end(ms);
        }
    }
    return ms->errors;
}

/* mime_state_close - end of input: an unfinished last line, then the end */
int mime_state_close(struct mime_state *ms)
{
    if (ms->closed)
        return ms->errors;
    if (ms->line.len > 0 || ms->cr_pending)
        mime_line_end(ms);
    ms->closed = 1;
    return mime_state_update(ms, MIME_REC_END, "", 0);
}

/* mime_state_status - the errors found so far */
int mime_state_status(const struct mime_state *ms)
{
    return ms->errors;
}

/* mime_state_depth - multipart levels open now */
int mime_state_depth(const struct mime_state *ms)
{
    return ms->nesting_level + 1;
}

/* mime_state_error_text - the most serious error's text, and its status code */
const char *mime_state_error_text(int errors, const char **dsn)
{
    static const struct {
        int err;
        const char *text;
    } texts[] = {
        {MIME_ERR_NESTING, "MIME nesting exceeds safety limit"},
        {MIME_ERR_TRUNC_HEADER, "message header length exceeds safety limit"},
        {MIME_ERR_8BIT_IN_HEADER, "improper use of 8-bit data in message header"},
        {MIME_ERR_8BIT_IN_7BIT_BODY, "improper use of 8-bit data in message body"},
        {MIME_ERR_ENCODING_DOMAIN, "invalid message/* or multipart/* encoding domain"},
    };
    size_t i;

    if (dsn)
        *dsn = "5.6.0";
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (errors & texts[i].err)
            return texts[i].text;
    return NULL;
}
