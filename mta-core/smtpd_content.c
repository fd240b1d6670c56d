/*
 * smtpd_content.c - message content from DATA or BDAT, as a push parser.
 *
 * The wire layer is a byte loop with one state per position in a line
 * (RFC 5321 4.5.2 for the dots).  End of DATA is recognised only as CR LF
 * "." CR LF, and not when the line before ended in a bare LF: that is what
 * keeps "\n.\n" and "\r.\n" from ending a message early (SMTP smuggling,
 * CVE-2023-51764).  Bare CR and bare LF are flagged; from then on the
 * message is refused at its end, so its bytes are dropped.
 *
 * The message layer reads decoded bytes (LF line ends).  A header starts
 * with a name of printable ASCII and a colon; lines that start with white
 * space continue it.  The first line that is neither ends the headers
 * and belongs to the body; so does everything after the empty line.
 *
 * Trusts: nothing.  A header longer than header_size_limit is cut there
 * (the rest is dropped, as Postfix does, and truncated is set).
 */
#include <string.h>

#include "libmatch/msg.h"
#include "mta-core/smtpd_content.h"

#define SMTPD_CONTENT_DECODE_MAX 8192 /* decoded bytes buffered before parsing */

/* Wire layer states. */
enum {
    W_BOL,     /* at the start of a line; the line before ended in CRLF (or none) */
    W_BOL_LF,  /* at the start of a line after a bare LF: no end of data here */
    W_DOT,     /* a '.' opened the line */
    W_DOT_CR,  /* ".\r" opened the line */
    W_TEXT,    /* inside a line */
    W_CR,      /* a CR inside a line: LF must follow */
};

/* Message layer. */
enum { PART_HEADERS, PART_BODY };

/* Header sub-states. */
enum {
    H_BOL,     /* at the start of a line in the header section */
    H_NAME,    /* collecting a header name, no colon yet */
    H_NAME_WS, /* white space after the name, before the colon */
    H_LINE,    /* inside a header line, after the colon or in a continuation */
};

/* smtpd_content_init - ready for the first byte of a message */
void smtpd_content_init(struct smtpd_content *c, enum smtpd_content_mode mode, size_t hdr_limit)
{
    memset(c, 0, sizeof(*c));
    c->mode = mode;
    c->wire = W_BOL;
    c->part = PART_HEADERS;
    c->hstate = H_BOL;
    c->last_lf = 1;
    c->hdr_limit = hdr_limit ? hdr_limit : 1;
    buf_init(&c->name);
    buf_init(&c->value);
    buf_init(&c->body);
    buf_init(&c->hdr);
    buf_init(&c->dec);
}

/* smtpd_content_free - release the buffers */
void smtpd_content_free(struct smtpd_content *c)
{
    buf_free(&c->name);
    buf_free(&c->value);
    buf_free(&c->body);
    buf_free(&c->hdr);
    buf_free(&c->dec);
}

/* smtpd_content_out - one decoded byte */
static void smtpd_content_out(struct smtpd_content *c, int ch)
{
    c->size += ch == '\n' ? 2 : 1;
    if (!c->discard && !c->bad)
        buf_addch(&c->dec, ch);
}

/*
 * smtpd_content_wire - decode wire bytes into c->dec until the input ends,
 * the end of data is seen, or enough is buffered; returns bytes taken.
 */
static size_t smtpd_content_wire(struct smtpd_content *c, const char *data, size_t len)
{
    size_t i;

    for (i = 0; i < len && !c->eod && c->dec.len < SMTPD_CONTENT_DECODE_MAX; i++) {
        int ch = (unsigned char) data[i];

        switch (c->wire) {
        case W_BOL:
        case W_BOL_LF:
            /* Only DATA has dots; BDAT content is taken as it is. */
            if (c->mode == SMTPD_CONTENT_DATA && ch == '.') {
                c->dot_after_lf = c->wire == W_BOL_LF;
                c->wire = W_DOT;
                break;
            }
            c->wire = W_TEXT;
            goto text;
        case W_DOT:
            if (ch == '\r') {
                c->wire = W_DOT_CR;
                break;
            }
            if (ch == '\n') {
                /* ".\n": not the end of data, and not a line we keep. */
                c->bad |= SMTPD_CONTENT_BARE_LF;
                c->wire = W_BOL_LF;
                break;
            }
            /* A stuffed dot: drop it, the rest of the line is text. */
            c->wire = W_TEXT;
            goto text;
        case W_DOT_CR:
            if (ch == '\n') {
                if (!c->dot_after_lf) {
                    c->eod = 1; /* CR LF . CR LF */
                    break;
                }
                c->wire = W_BOL;
                break;
            }
            /* ".\r" then something else: a bare CR. */
            c->bad |= SMTPD_CONTENT_BARE_CR;
            c->wire = W_TEXT;
            goto text;
        case W_CR:
            if (ch == '\n') {
                smtpd_content_out(c, '\n');
                c->wire = W_BOL;
                break;
            }
            c->bad |= SMTPD_CONTENT_BARE_CR;
            c->wire = W_TEXT;
            /* FALLTHROUGH */
        case W_TEXT:
        text:
            if (ch == '\r') {
                c->wire = W_CR;
            } else if (ch == '\n') {
                c->bad |= SMTPD_CONTENT_BARE_LF;
                smtpd_content_out(c, '\n');
                c->wire = W_BOL_LF;
            } else {
                smtpd_content_out(c, ch);
            }
            break;
        default:
            msg_panic("smtpd_content_wire: bad state %d", c->wire);
        }
    }
    return i;
}

/* smtpd_content_header_event - move the collected header into name/value */
static void smtpd_content_header_event(struct smtpd_content *c)
{
    const char *colon = memchr(c->hdr.data, ':', c->hdr.len);
    size_t nlen;

    if (colon == NULL)
        msg_panic("smtpd_content_header_event: header without colon");
    nlen = (size_t) (colon - c->hdr.data);
    while (nlen > 0 && (c->hdr.data[nlen - 1] == ' ' || c->hdr.data[nlen - 1] == '\t'))
        nlen--;
    buf_set(&c->name, c->hdr.data, nlen);
    buf_set(&c->value, colon + 1, c->hdr.len - (size_t) (colon + 1 - c->hdr.data));
    buf_reset(&c->hdr);
    c->hpending = 0;
}

/* smtpd_content_hdr_add - a byte of the current header, within the limit */
static void smtpd_content_hdr_add(struct smtpd_content *c, int ch)
{
    if (c->hdr.len < c->hdr_limit)
        buf_addch(&c->hdr, ch);
    else
        c->truncated = 1;
}

/* smtpd_content_not_header - what was collected is body after all */
static enum smtpd_content_event smtpd_content_not_header(struct smtpd_content *c)
{
    buf_add(&c->body, c->hdr.data, c->hdr.len);
    buf_reset(&c->hdr);
    c->part = PART_BODY;
    c->eoh_done = 1;
    return SMTPD_CONTENT_EOH;
}

/*
 * smtpd_content_parse - run the message layer over decoded bytes until an
 * event is ready (returned) or they are used up (SMTPD_CONTENT_NONE).
 */
static enum smtpd_content_event smtpd_content_parse(struct smtpd_content *c)
{
    while (c->dec_pos < c->dec.len) {
        int ch = (unsigned char) c->dec.data[c->dec_pos];

        c->last_lf = ch == '\n';
        if (c->part == PART_BODY) {
            size_t room = SMTPD_CONTENT_CHUNK - c->body.len;
            size_t n = c->dec.len - c->dec_pos;

            if (n > room)
                n = room;
            buf_add(&c->body, c->dec.data + c->dec_pos, n);
            c->dec_pos += n;
            c->last_lf = c->body.len && c->body.data[c->body.len - 1] == '\n';
            if (c->body.len >= SMTPD_CONTENT_CHUNK)
                return SMTPD_CONTENT_BODY;
            continue;
        }
        switch (c->hstate) {
        case H_BOL:
            if (c->hpending && ch != ' ' && ch != '\t') {
                /* The next line does not continue the header: it is complete. */
                smtpd_content_header_event(c);
                return SMTPD_CONTENT_HEADER;
            }
            if (ch == '\n') {
                /* The empty line: end of headers; it is not part of the body. */
                c->dec_pos++;
                c->part = PART_BODY;
                c->eoh_done = 1;
                return SMTPD_CONTENT_EOH;
            }
            if (ch == ' ' || ch == '\t') {
                if (!c->hpending)
                    return smtpd_content_not_header(c);
                /* Both or neither: a value must never end in a bare newline. */
                if (c->hdr.len + 2 <= c->hdr_limit) {
                    buf_addch(&c->hdr, '\n');
                    buf_addch(&c->hdr, ch);
                } else {
                    c->truncated = 1;
                }
                c->hstate = H_LINE;
                break;
            }
            c->hstate = H_NAME;
            /* FALLTHROUGH */
        case H_NAME:
            /* A name that fills header_size_limit leaves no room for a header. */
            if (c->hdr.len >= c->hdr_limit)
                return smtpd_content_not_header(c);
            if (ch == ':' && c->hdr.len > 0) {
                smtpd_content_hdr_add(c, ch);
                c->hstate = H_LINE;
                c->hpending = 1;
                break;
            }
            if ((ch == ' ' || ch == '\t') && c->hdr.len > 0) {
                smtpd_content_hdr_add(c, ch);
                c->hstate = H_NAME_WS;
                break;
            }
            if (ch <= ' ' || ch >= 0x7f || ch == ':')
                return smtpd_content_not_header(c);
            smtpd_content_hdr_add(c, ch);
            break;
        case H_NAME_WS:
            if (c->hdr.len >= c->hdr_limit)
                return smtpd_content_not_header(c);
            if (ch == ':') {
                smtpd_content_hdr_add(c, ch);
                c->hstate = H_LINE;
                c->hpending = 1;
                break;
            }
            if (ch != ' ' && ch != '\t')
                return smtpd_content_not_header(c);
            smtpd_content_hdr_add(c, ch);
            break;
        case H_LINE:
            if (ch == '\n')
                c->hstate = H_BOL;
            else
                smtpd_content_hdr_add(c, ch);
            break;
        default:
            msg_panic("smtpd_content_parse: bad header state %d", c->hstate);
        }
        c->dec_pos++;
    }
    buf_reset(&c->dec);
    c->dec_pos = 0;
    return SMTPD_CONTENT_NONE;
}

/*
 * smtpd_content_flush - after the end: the last header, the end of the
 * headers, the last body bytes, then END; one per call.
 */
static enum smtpd_content_event smtpd_content_flush(struct smtpd_content *c)
{
    if (c->discard || c->bad)
        return SMTPD_CONTENT_END;
    if (c->part == PART_HEADERS) {
        if (c->hstate == H_NAME || c->hstate == H_NAME_WS)
            return smtpd_content_not_header(c);
        /* A header may lack its newline (BDAT); that is no reason to add one to the body. */
        c->last_lf = 1;
        if (c->hpending) {
            smtpd_content_header_event(c);
            return SMTPD_CONTENT_HEADER;
        }
        c->part = PART_BODY;
        c->eoh_done = 1;
        return SMTPD_CONTENT_EOH;
    }
    /* Unix text ends in a newline; only BDAT can leave it out. */
    if (!c->last_lf) {
        buf_addch(&c->body, '\n');
        c->size += 2;
        c->last_lf = 1;
    }
    if (c->body.len > 0)
        return SMTPD_CONTENT_BODY;
    return SMTPD_CONTENT_END;
}

/*
 * smtpd_content_feed - push wire bytes.  Returns how many were taken; *ev
 * says what is ready.  After an event, handle it and call again with the
 * bytes that were not taken (possibly none).  After END the message is
 * complete and the bytes not taken belong to the next command.
 */
size_t smtpd_content_feed(struct smtpd_content *c, const char *data, size_t len,
                          enum smtpd_content_event *ev)
{
    size_t taken = 0;

    /* The chunk reported by the last BODY event has been handled. */
    if (c->body_reported) {
        buf_reset(&c->body);
        c->body_reported = 0;
    }
    for (;;) {
        if (c->dec_pos < c->dec.len) {
            if (c->discard || c->bad) {
                buf_reset(&c->dec);
                c->dec_pos = 0;
            } else if ((*ev = smtpd_content_parse(c)) != SMTPD_CONTENT_NONE) {
                c->body_reported = *ev == SMTPD_CONTENT_BODY;
                return taken;
            }
        }
        if (c->eod) {
            *ev = smtpd_content_flush(c);
            c->body_reported = *ev == SMTPD_CONTENT_BODY;
            return taken;
        }
        if (taken == len) {
            *ev = c->body.len && !c->discard && !c->bad ? SMTPD_CONTENT_BODY : SMTPD_CONTENT_NONE;
            c->body_reported = *ev == SMTPD_CONTENT_BODY;
            return taken;
        }
        taken += smtpd_content_wire(c, data + taken, len - taken);
    }
}

/*
 * smtpd_content_finish - BDAT LAST: the content is complete.  Returns the
 * next event; call again after each until it returns END.
 */
enum smtpd_content_event smtpd_content_finish(struct smtpd_content *c)
{
    enum smtpd_content_event ev;

    if (!c->eod && c->wire == W_CR)
        c->bad |= SMTPD_CONTENT_BARE_CR; /* the content ended in a lone CR */
    c->eod = 1;
    smtpd_content_feed(c, "", 0, &ev);
    return ev;
}
