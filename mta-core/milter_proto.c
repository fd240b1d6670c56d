/*
 * milter_proto.c - build milter packets, cut and decode milter replies.
 *
 * The decoder counts the bytes of a reply down field by field, as Postfix's
 * milter8.c does: a string must end in a NUL inside the packet, a number
 * needs its four bytes, and bytes left over after the last field make the
 * packet malformed.  Callers treat a malformed packet as a broken milter.
 */
#include <ctype.h>
#include <string.h>

#include "libmatch/msg.h"
#include "mta-core/milter_proto.h"

/* milter_proto_cmd_name - SMFIC_* name of a command we send, for logs */
const char *milter_proto_cmd_name(int cmd)
{
    switch (cmd) {
    case SMFIC_ABORT: return "SMFIC_ABORT";
    case SMFIC_BODY: return "SMFIC_BODY";
    case SMFIC_CONNECT: return "SMFIC_CONNECT";
    case SMFIC_MACRO: return "SMFIC_MACRO";
    case SMFIC_BODYEOB: return "SMFIC_BODYEOB";
    case SMFIC_HELO: return "SMFIC_HELO";
    case SMFIC_QUIT_NC: return "SMFIC_QUIT_NC";
    case SMFIC_HEADER: return "SMFIC_HEADER";
    case SMFIC_MAIL: return "SMFIC_MAIL";
    case SMFIC_EOH: return "SMFIC_EOH";
    case SMFIC_OPTNEG: return "SMFIC_OPTNEG";
    case SMFIC_QUIT: return "SMFIC_QUIT";
    case SMFIC_RCPT: return "SMFIC_RCPT";
    case SMFIC_DATA: return "SMFIC_DATA";
    case SMFIC_UNKNOWN: return "SMFIC_UNKNOWN";
    default: return "(unknown MTA event)";
    }
}

/* milter_proto_reply_name - SMFIR_* name of a reply code, for logs */
const char *milter_proto_reply_name(int cmd)
{
    switch (cmd) {
    case SMFIR_ADDRCPT: return "SMFIR_ADDRCPT";
    case SMFIR_DELRCPT: return "SMFIR_DELRCPT";
    case SMFIR_ADDRCPT_PAR: return "SMFIR_ADDRCPT_PAR";
    case SMFIR_SHUTDOWN: return "SMFIR_SHUTDOWN";
    case SMFIR_ACCEPT: return "SMFIR_ACCEPT";
    case SMFIR_REPLBODY: return "SMFIR_REPLBODY";
    case SMFIR_CONTINUE: return "SMFIR_CONTINUE";
    case SMFIR_DISCARD: return "SMFIR_DISCARD";
    case SMFIR_CHGFROM: return "SMFIR_CHGFROM";
    case SMFIR_CONN_FAIL: return "SMFIR_CONN_FAIL";
    case SMFIR_ADDHEADER: return "SMFIR_ADDHEADER";
    case SMFIR_INSHEADER: return "SMFIR_INSHEADER";
    case SMFIR_SETSYMLIST: return "SMFIR_SETSYMLIST";
    case SMFIR_CHGHEADER: return "SMFIR_CHGHEADER";
    case SMFIR_PROGRESS: return "SMFIR_PROGRESS";
    case SMFIR_QUARANTINE: return "SMFIR_QUARANTINE";
    case SMFIR_REJECT: return "SMFIR_REJECT";
    case SMFIR_SKIP: return "SMFIR_SKIP";
    case SMFIR_TEMPFAIL: return "SMFIR_TEMPFAIL";
    case SMFIR_REPLYCODE: return "SMFIR_REPLYCODE";
    case SMFIC_OPTNEG: return "SMFIC_OPTNEG";
    default: return "(unknown filter reply)";
    }
}

/*
 * milter_proto_version_events - the protocol bits a version defines: the
 * events it has (SMFIP_NO*) and, from version 6, the extensions (SKIP,
 * RCPT_REJ, the NR_* no-reply flags, HDR_LEADSPC); Postfix's masks.
 */
uint32_t milter_proto_version_events(int version)
{
    uint32_t v2 = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT | SMFIP_NOBODY
                  | SMFIP_NOHDRS | SMFIP_NOEOH;

    if (version >= 6)
        return MILTER_NOSEND_MASK | SMFIP_SKIP | SMFIP_RCPT_REJ | MILTER_NOREPLY_MASK
               | SMFIP_HDR_LEADSPC;
    if (version >= 4)
        return v2 | SMFIP_NOUNKNOWN | SMFIP_NODATA;
    if (version == 3)
        return v2 | SMFIP_NOUNKNOWN;
    return v2;
}

/* milter_proto_start - begin a packet; returns where it starts in out */
size_t milter_proto_start(struct buf *out, int cmd)
{
    size_t start = out->len;

    buf_add(out, "\0\0\0\0", 4);
    buf_addch(out, cmd);
    return start;
}

/* milter_proto_add_u32 - a network-order 32-bit number */
void milter_proto_add_u32(struct buf *out, uint32_t v)
{
    unsigned char b[4] = { (unsigned char) (v >> 24), (unsigned char) (v >> 16),
                           (unsigned char) (v >> 8), (unsigned char) v };

    buf_add(out, b, 4);
}

/* milter_proto_add_u16 - a network-order 16-bit number */
void milter_proto_add_u16(struct buf *out, uint16_t v)
{
    unsigned char b[2] = { (unsigned char) (v >> 8), (unsigned char) v };

    buf_add(out, b, 2);
}

/* milter_proto_add_byte - one octet */
void milter_proto_add_byte(struct buf *out, int c)
{
    buf_addch(out, c);
}

/* milter_proto_add_str - a string with its NUL terminator */
void milter_proto_add_str(struct buf *out, const char *s)
{
    buf_add(out, s, strlen(s) + 1);
}

/* milter_proto_add_bytes - raw bytes (a body chunk) */
void milter_proto_add_bytes(struct buf *out, const void *p, size_t n)
{
    buf_add(out, p, n);
}

/* milter_proto_finish - fill in the length of the packet started at start */
void milter_proto_finish(struct buf *out, size_t start)
{
    size_t len = out->len - start - 4;
    unsigned char *p = (unsigned char *) out->data + start;

    if (start + 5 > out->len || len > UINT32_MAX)
        msg_panic("milter_proto_finish: bad packet at %zu of %zu", start, out->len);
    p[0] = (unsigned char) (len >> 24);
    p[1] = (unsigned char) (len >> 16);
    p[2] = (unsigned char) (len >> 8);
    p[3] = (unsigned char) len;
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* printable - quote up to max bytes of foreign text for a log line */
static void printable(struct buf *err, const unsigned char *p, size_t n, size_t max)
{
    size_t i;

    for (i = 0; i < n && i < max; i++) {
        if (p[i] == '\r')
            buf_addstr(err, "\\r");
        else if (p[i] == '\n')
            buf_addstr(err, "\\n");
        else if (p[i] >= 0x20 && p[i] < 0x7f)
            buf_addch(err, p[i]);
        else
            buf_printf(err, "\\x%02x", p[i]);
    }
    if (n > max)
        buf_addstr(err, "...");
}

/* looks_like_text - the first bytes of a reply are a text protocol's greeting */
static int looks_like_text(const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n && i < 4; i++)
        if (!(p[i] >= 0x20 && p[i] < 0x7f) && p[i] != '\r' && p[i] != '\n' && p[i] != '\t')
            return 0;
    return 1;
}

/*
 * milter_proto_frame - is a whole reply packet at p?  1 yes (its length,
 * counting the command byte, in *pkt_len; the packet is 4 + *pkt_len bytes),
 * 0 not yet, -1 never: the length field is impossible (err says why).
 */
int milter_proto_frame(const unsigned char *p, size_t avail, size_t *pkt_len, struct buf *err)
{
    uint32_t len;

    if (avail < 4)
        return 0;
    len = get_u32(p);
    if (len < 1 || len > MILTER_REPLY_LIMIT) {
        if (len < 1)
            buf_printf(err, "bad packet length: %lu", (unsigned long) len);
        else
            buf_printf(err, "unreasonable packet length: %lu > %lu",
                       (unsigned long) len, (unsigned long) MILTER_REPLY_LIMIT);
        if (looks_like_text(p, avail)) {
            buf_addstr(err, " (not a milter: it answered with text \"");
            printable(err, p, avail, 60);
            buf_addstr(err, "\")");
        }
        return -1;
    }
    *pkt_len = len;
    return avail - 4 >= len;
}

/* get_str - a NUL-terminated string at *p, within *left bytes */
static int get_str(const unsigned char **p, size_t *left, const char **s, size_t *len,
                   const char *what, struct buf *err)
{
    const unsigned char *nul = memchr(*p, 0, *left);

    if (nul == NULL) {
        buf_printf(err, "%s: missing string null terminator", what);
        return -1;
    }
    *s = (const char *) *p;
    *len = (size_t) (nul - *p);
    *left -= *len + 1;
    *p = nul + 1;
    return 0;
}

/* get_num - a network-order 32-bit number at *p */
static int get_num(const unsigned char **p, size_t *left, uint32_t *v, const char *what,
                   struct buf *err)
{
    if (*left < 4) {
        buf_printf(err, "%s: input packet too short for network long", what);
        return -1;
    }
    *v = get_u32(*p);
    *p += 4;
    *left -= 4;
    return 0;
}

/* get_text - the rest of the packet as text: one optional final NUL, no other NUL */
static int get_text(const unsigned char *p, size_t left, const char **s, size_t *len,
                    const char *what, struct buf *err)
{
    if (left > 0 && p[left - 1] == 0)
        left--;
    if (memchr(p, 0, left) != NULL) {
        buf_printf(err, "%s: null byte inside the text", what);
        return -1;
    }
    *s = (const char *) p;
    *len = left;
    return 0;
}

/* header_name_ok - a header name a milter may add: printable, no colon, no space */
static int header_name_ok(const char *s, size_t len)
{
    size_t i;

    if (len == 0)
        return 0;
    for (i = 0; i < len; i++)
        if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f || s[i] == ':')
            return 0;
    return 1;
}

/* header_value_ok - every line break in a header value starts a continuation line */
static int header_value_ok(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
            continue;
        if (s[i] == '\r')
            return 0;
        if (s[i] == '\n' && (i + 1 == len || (s[i + 1] != ' ' && s[i + 1] != '\t')))
            return 0;
    }
    return 1;
}

/*
 * milter_proto_decode - decode one reply packet (command byte and data, as
 * framed by milter_proto_frame) into r.  -1 and a reason when the packet is
 * malformed for its command.
 */
int milter_proto_decode(const unsigned char *data, size_t len, struct milter_reply *r,
                        struct buf *err)
{
    const unsigned char *p = data + 1;
    size_t left;
    const char *name;
    uint32_t stage;
    const char *list;
    size_t list_len;

    memset(r, 0, sizeof(*r));
    if (len < 1) {
        buf_addstr(err, "empty packet");
        return -1;
    }
    r->cmd = data[0];
    left = len - 1;
    name = milter_proto_reply_name(r->cmd);
    switch (r->cmd) {
    case SMFIR_CONTINUE:
    case SMFIR_ACCEPT:
    case SMFIR_REJECT:
    case SMFIR_TEMPFAIL:
    case SMFIR_DISCARD:
    case SMFIR_SKIP:
    case SMFIR_PROGRESS:
    case SMFIR_SHUTDOWN:
        break;
    case SMFIR_REPLYCODE:
        if (get_text(p, left, &r->str1, &r->len1, name, err) < 0)
            return -1;
        if (!milter_proto_smtp_reply_ok(r->str1, r->len1)) {
            buf_printf(err, "malformed reply: \"");
            printable(err, (const unsigned char *) r->str1, r->len1, 200);
            buf_addstr(err, "\"");
            return -1;
        }
        return 0;
    case SMFIR_QUARANTINE:
        return get_text(p, left, &r->str1, &r->len1, name, err);
    case SMFIR_REPLBODY:
        r->str1 = (const char *) p;
        r->len1 = left;
        return 0;
    case SMFIR_INSHEADER:
    case SMFIR_CHGHEADER:
        if (get_num(&p, &left, &r->index, name, err) < 0)
            return -1;
        /* FALLTHROUGH */
    case SMFIR_ADDHEADER:
        if (get_str(&p, &left, &r->str1, &r->len1, name, err) < 0
            || get_str(&p, &left, &r->str2, &r->len2, name, err) < 0)
            return -1;
        if (!header_name_ok(r->str1, r->len1)) {
            buf_printf(err, "%s: bad header name \"", name);
            printable(err, (const unsigned char *) r->str1, r->len1, 100);
            buf_addstr(err, "\"");
            return -1;
        }
        if (!header_value_ok(r->str2, r->len2)) {
            buf_printf(err, "%s: header value with a line break that does not start a "
                       "continuation line", name);
            return -1;
        }
        break;
    case SMFIR_ADDRCPT:
    case SMFIR_DELRCPT:
        if (get_str(&p, &left, &r->str1, &r->len1, name, err) < 0)
            return -1;
        break;
    case SMFIR_ADDRCPT_PAR:
    case SMFIR_CHGFROM:
        if (get_str(&p, &left, &r->str1, &r->len1, name, err) < 0)
            return -1;
        if (left > 0 && get_str(&p, &left, &r->str2, &r->len2, name, err) < 0)
            return -1;
        break;
    case SMFIC_OPTNEG:
        if (get_num(&p, &left, &r->version, name, err) < 0
            || get_num(&p, &left, &r->actions, name, err) < 0
            || get_num(&p, &left, &r->protocol, name, err) < 0)
            return -1;
        while (left > 0) {
            if (get_num(&p, &left, &stage, name, err) < 0
                || get_str(&p, &left, &list, &list_len, name, err) < 0)
                return -1;
            if (stage >= MILTER_STAGE_UNKNOWN)
                msg_warn("milter sent a macro list for unknown stage %lu; ignored",
                         (unsigned long) stage);
            else
                r->symlist[stage] = list;
        }
        break;
    default:
        buf_printf(err, "unknown reply code 0x%02x", r->cmd);
        return -1;
    }
    if (left > 0) {
        buf_printf(err, "reply %s was followed by %zu data bytes", name, left);
        return -1;
    }
    return 0;
}

/*
 * milter_proto_smtp_reply_ok - is text an SMTP reply a milter may give:
 * one or more lines "ddd-text" CRLF ending with "ddd text", the code 4xx or
 * 5xx, an enhanced status code (if any) of the same class.  As Postfix.
 */
int milter_proto_smtp_reply_ok(const char *text, size_t len)
{
    const unsigned char *cp = (const unsigned char *) text;
    const unsigned char *end = cp + len;

    if (memchr(text, 0, len) != NULL)
        return 0;
    while (cp < end) {
        const unsigned char *eol = cp;
        size_t line_len;
        int final;

        while (eol < end && *eol != '\r' && *eol != '\n')
            eol++;
        line_len = (size_t) (eol - cp);
        final = (eol == end);
        if (line_len < 4 || (cp[0] != '4' && cp[0] != '5') || !isdigit(cp[1])
            || !isdigit(cp[2]) || cp[3] != (final ? ' ' : '-')
            || (line_len > 4 && isdigit(cp[4]) && cp[4] != cp[0]))
            return 0;
        if (final)
            return 1;
        if (eol + 2 > end || eol[0] != '\r' || eol[1] != '\n')
            return 0;
        cp = eol + 2;
    }
    return 0;
}

/*
 * milter_proto_unpercent - sendmail uses a reply as a format string, so
 * milters double their '%'.  We do not: "%%" becomes "%", a lone '%' goes.
 */
void milter_proto_unpercent(struct buf *reply)
{
    size_t i, j;

    for (i = j = 0; i < reply->len; i++) {
        if (reply->data[i] == '%') {
            if (i + 1 < reply->len && reply->data[i + 1] == '%')
                i++;
            else
                continue;
        }
        reply->data[j++] = reply->data[i];
    }
    buf_truncate(reply, j);
}
