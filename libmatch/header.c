/*
 * header.c - header labels, known header names, structured-value tokens.
 *
 * header_label_len() decides whether a line starts a header field: a
 * label of printable ASCII other than ':' and white space, optional
 * spaces or tabs (RFC 822's obsolete "Subject :"), then ':'.  It returns
 * the label's length without those spaces, 0 when the line is no header.
 *
 * header_lookup() finds what mail software knows about a label (case does
 * not matter); header_lookup_line() does it for a whole header line.
 *
 * header_token() splits a value into RFC 822 tokens: linear white space
 * is skipped, comments (which nest) are skipped, quoted strings lose their
 * quotes and backslash escapes (a newline inside one unfolds, dropping the
 * white space before it), each special or control character is a token of
 * its own, and anything else is an atom.  It stops after the terminator
 * character (not stored) when one is given, or when max tokens are stored
 * otherwise; tokens past max before the terminator are read and dropped.
 * The result is the number of tokens stored, or -1 when the value was
 * exhausted before any token or terminator was seen.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "libmatch/header.h"

/* header_label_len - length of the header label that starts text, or 0 */
size_t header_label_len(const char *text, size_t len)
{
    size_t i, label = 0;
    int after_space = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text[i];

        if (c == ':')
            return label;
        if (c == ' ' || c == '\t') {
            if (label == 0)
                return 0; /* no label before the space */
            after_space = 1;
            continue;
        }
        if (c == 0 || c > 126 || iscntrl(c) || after_space)
            return 0;
        label++;
    }
    return 0; /* no colon */
}

/* The header names that mean something; flags as Postfix's header_opts. */
static const struct header_info header_known[] = {
    {"Apparently-To", HEADER_APPARENTLY_TO, HEADER_FLAG_RECIP},
    {"Bcc", HEADER_BCC, HEADER_FLAG_XRECIP},
    {"Cc", HEADER_CC, HEADER_FLAG_XRECIP},
    {"Content-Description", HEADER_CONTENT_DESCRIPTION, HEADER_FLAG_MIME},
    {"Content-Disposition", HEADER_CONTENT_DISPOSITION, HEADER_FLAG_MIME},
    {"Content-ID", HEADER_CONTENT_ID, HEADER_FLAG_MIME},
    {"Content-Length", HEADER_CONTENT_LENGTH, 0},
    {"Content-Transfer-Encoding", HEADER_CONTENT_TRANSFER_ENCODING, HEADER_FLAG_MIME},
    {"Content-Type", HEADER_CONTENT_TYPE, HEADER_FLAG_MIME},
    {"Date", HEADER_DATE, 0},
    {"Delivered-To", HEADER_DELIVERED_TO, 0},
    {"Disposition-Notification-To", HEADER_DISP_NOTIFICATION, HEADER_FLAG_SENDER},
    {"Errors-To", HEADER_ERRORS_TO, HEADER_FLAG_SENDER},
    {"From", HEADER_FROM, HEADER_FLAG_SENDER},
    {"Mail-Followup-To", HEADER_MAIL_FOLLOWUP_TO, HEADER_FLAG_SENDER},
    {"Message-Id", HEADER_MESSAGE_ID, 0},
    {"MIME-Version", HEADER_MIME_VERSION, HEADER_FLAG_MIME},
    {"Received", HEADER_RECEIVED, 0},
    {"Reply-To", HEADER_REPLY_TO, HEADER_FLAG_SENDER},
    {"Resent-Bcc", HEADER_RESENT_BCC, HEADER_FLAG_XRECIP | HEADER_FLAG_RESENT},
    {"Resent-Cc", HEADER_RESENT_CC, HEADER_FLAG_XRECIP | HEADER_FLAG_RESENT},
    {"Resent-Date", HEADER_RESENT_DATE, HEADER_FLAG_RESENT},
    {"Resent-From", HEADER_RESENT_FROM, HEADER_FLAG_SENDER | HEADER_FLAG_RESENT},
    {"Resent-Message-Id", HEADER_RESENT_MESSAGE_ID, HEADER_FLAG_RESENT},
    {"Resent-Reply-To", HEADER_RESENT_REPLY_TO, HEADER_FLAG_RECIP | HEADER_FLAG_RESENT},
    {"Resent-Sender", HEADER_RESENT_SENDER, HEADER_FLAG_SENDER | HEADER_FLAG_RESENT},
    {"Resent-To", HEADER_RESENT_TO, HEADER_FLAG_XRECIP | HEADER_FLAG_RESENT},
    {"Return-Path", HEADER_RETURN_PATH, HEADER_FLAG_SENDER},
    {"Return-Receipt-To", HEADER_RETURN_RECEIPT_TO, HEADER_FLAG_SENDER},
    {"Sender", HEADER_SENDER, HEADER_FLAG_SENDER},
    {"To", HEADER_TO, HEADER_FLAG_XRECIP},
};

/* header_lookup - what is known about a label, NULL for an ordinary header */
const struct header_info *header_lookup(const char *label, size_t len)
{
    size_t i;

    /* Trailing white space is not part of the name. */
    while (len > 0 && (label[len - 1] == ' ' || label[len - 1] == '\t'))
        len--;
    for (i = 0; i < sizeof(header_known) / sizeof(header_known[0]); i++)
        if (strlen(header_known[i].name) == len && strncasecmp(header_known[i].name, label, len) == 0)
            return &header_known[i];
    return NULL;
}

/* header_lookup_line - header_lookup for the label of a header line */
const struct header_info *header_lookup_line(const char *text, size_t len)
{
    size_t label = header_label_len(text, len);

    return label ? header_lookup(text, label) : NULL;
}

static int header_is_lwsp(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* header_tok_start - begin a token of the given type if there is room */
static void header_tok_start(struct header_tok *tok, size_t max, size_t count,
                             struct buf *store, int type)
{
    if (count < max) {
        tok[count].offset = store->len;
        tok[count].type = type;
    }
}

/* header_token - split a structured header value into tokens (see above) */
long header_token(struct header_tok *tok, size_t max, struct buf *store,
                  const char **ptr, const char *specials, int terminator)
{
    const unsigned char *cp = (const unsigned char *) *ptr;
    size_t count = 0, i;
    int ch = 0;

    buf_reset(store);
    if (specials == NULL)
        specials = HEADER_RFC822_SPECIALS;

    while ((ch = *cp) != 0 && (terminator != 0 || count < max)) {
        cp++;
        if (header_is_lwsp(ch))
            continue;
        if (ch == terminator)
            break;

        if (ch == '(') {
            /* A comment; they nest, and a backslash quotes one character. */
            size_t level = 1;

            while ((ch = *cp) != 0) {
                cp++;
                if (ch == '(') {
                    level++;
                } else if (ch == ')') {
                    if (--level == 0)
                        break;
                } else if (ch == '\\') {
                    if (*cp == 0)
                        break;
                    cp++;
                }
            }
            continue;
        }

        if (ch == '"') {
            /* A quoted string: keep the text between the quotes. */
            header_tok_start(tok, max, count, store, HEADER_TOK_QSTRING);
            while ((ch = *cp) != 0) {
                cp++;
                if (ch == '"')
                    break;
                if (ch == '\n') {
                    /* Unfold: drop the white space before the line break. */
                    if (count < max)
                        while (store->len > tok[count].offset && header_is_lwsp(store->data[store->len - 1]))
                            buf_truncate(store, store->len - 1);
                    continue;
                }
                if (ch == '\\') {
                    if ((ch = *cp) == 0)
                        break;
                    cp++;
                }
                if (count < max)
                    buf_addch(store, ch);
            }
            if (count < max) {
                buf_addch(store, 0);
                count++;
            }
            continue;
        }

        if (strchr(specials, ch) || iscntrl(ch)) {
            /* One special or control character. */
            header_tok_start(tok, max, count, store, ch);
            if (count < max) {
                buf_addch(store, ch);
                buf_addch(store, 0);
                count++;
            }
            continue;
        }

        /* An atom: up to white space, a control or a special character. */
        header_tok_start(tok, max, count, store, HEADER_TOK_TOKEN);
        if (count < max)
            buf_addch(store, ch);
        while ((ch = *cp) != 0 && !header_is_lwsp(ch) && !iscntrl(ch) && !strchr(specials, ch)) {
            cp++;
            if (count < max)
                buf_addch(store, ch);
        }
        if (count < max) {
            buf_addch(store, 0);
            count++;
        }
    }

    /* Nothing at all after the last terminator. */
    if (count == 0 && ch == 0)
        return -1;

    *ptr = (const char *) cp;
    for (i = 0; i < count; i++)
        tok[i].value = store->data + tok[i].offset;
    return (long) count;
}
