/*
 * smtpd_parse.c - parsing SMTP command lines (RFC 5321 section 4.1).
 *
 * Paths are parsed the way Postfix does with strict_rfc821_envelopes = no:
 * "FROM:" may be followed by spaces, and an address without <> is accepted
 * when it is one word.  Inside the brackets we are strict: a source route
 * (@a,@b:) is dropped, the local part is a dot-string or a quoted string,
 * the domain is a name or an [address literal], and nothing else - no
 * spaces, no control characters, no stray brackets.  8-bit bytes are
 * accepted here and noted (non_ascii); the session refuses them unless the
 * client declared SMTPUTF8, and smtpd_utf8_valid() has checked the line.
 *
 * Trusts: nothing.  Lengths are checked as bytes are taken.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "libmatch/mem.h"
#include "mta-core/smtpd_parse.h"

/* smtpd_path_init - an empty path */
void smtpd_path_init(struct smtpd_path *path)
{
    memset(path, 0, sizeof(*path));
    buf_init(&path->addr);
    buf_init(&path->args);
}

/* smtpd_path_free - release a path's storage (it can be parsed into again) */
void smtpd_path_free(struct smtpd_path *path)
{
    size_t i;

    for (i = 0; i < path->nparam; i++)
        mem_free(path->params[i]);
    buf_free(&path->addr);
    buf_free(&path->args);
    smtpd_path_init(path);
}

/*
 * smtpd_parse_verb - the length of the command verb at the start of line
 * (letters only; 0 when the line does not start with one).
 */
size_t smtpd_parse_verb(const char *line, size_t len)
{
    size_t n = 0;

    while (n < len && isalpha((unsigned char) line[n]))
        n++;
    return n;
}

/* RFC 5322 atext, and 8-bit bytes for SMTPUTF8 */
static int smtpd_atext(unsigned char c)
{
    return isalnum(c) || c >= 0x80 || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* smtpd_parse_local - a dot-string or quoted-string; returns the end or NULL */
static const char *smtpd_parse_local(const char *p, const char *end)
{
    const char *start = p;

    if (p < end && *p == '"') {
        for (p++; p < end && *p != '"'; p++) {
            if (*p == '\\') {
                if (++p >= end)
                    return NULL;
            }
            if ((unsigned char) *p < ' ' || *p == 0x7f)
                return NULL;
        }
        return p < end ? p + 1 : NULL;
    }
    if (p >= end || *p == '.')
        return NULL;
    while (p < end && (smtpd_atext((unsigned char) *p) || *p == '.')) {
        if (*p == '.' && p + 1 < end && p[1] == '.')
            return NULL;
        p++;
    }
    return p == start || p[-1] == '.' ? NULL : p;
}

/* smtpd_parse_domain - a host name or an address literal; returns the end or NULL */
static const char *smtpd_parse_domain(const char *p, const char *end)
{
    const char *start = p;

    if (p < end && *p == '[') {
        /* An address literal: [192.0.2.1], [IPv6:2001:db8::1]; nothing more exotic. */
        for (p++; p < end && *p != ']'; p++)
            if (!isalnum((unsigned char) *p) && *p != '.' && *p != ':' && *p != '-')
                return NULL;
        return p < end && p - start > 1 ? p + 1 : NULL;
    }
    while (p < end && (isalnum((unsigned char) *p) || *p == '-' || *p == '.' || *p == '_'
                       || (unsigned char) *p >= 0x80))
        p++;
    if (p == start || *start == '.' || *start == '-')
        return NULL;
    return p;
}

/* smtpd_parse_mailbox - validate "local@domain" or "local" in [p, end) */
static int smtpd_parse_mailbox(const char *p, const char *end)
{
    if (p == end)
        return 1; /* the null path */
    p = smtpd_parse_local(p, end);
    if (p == NULL)
        return 0;
    if (p == end)
        return 1; /* a bare local part: "postmaster" */
    if (*p != '@')
        return 0;
    p = smtpd_parse_domain(p + 1, end);
    return p == end;
}

/* smtpd_skip_route - past "@a,@b:" at the start of an address, or NULL when malformed */
static const char *smtpd_skip_route(const char *p, const char *end)
{
    while (p < end && *p == '@') {
        p = smtpd_parse_domain(p + 1, end);
        if (p == NULL || p >= end)
            return NULL;
        if (*p == ':')
            return p + 1;
        if (*p != ',')
            return NULL;
        p++;
    }
    return NULL;
}

/* smtpd_parse_params - "KEY=VALUE KEY ..." after the address */
static enum smtpd_parse_status smtpd_parse_params(const char *p, struct smtpd_path *path)
{
    for (;;) {
        const char *start, *eq = NULL;

        while (*p == ' ')
            p++;
        if (*p == 0)
            return SMTPD_PARSE_OK;
        start = p;
        if (!isalnum((unsigned char) *p))
            return SMTPD_PARSE_PARAM;
        while (isalnum((unsigned char) *p) || *p == '-')
            p++;
        if (*p == '=') {
            eq = p++;
            while (*p && *p != ' ' && *p != '=' && ((unsigned char) *p > ' ') && *p != 0x7f)
                p++;
            if (p == eq + 1)
                return SMTPD_PARSE_PARAM;
        }
        if (*p != ' ' && *p != 0)
            return SMTPD_PARSE_PARAM;
        if (path->nparam >= SMTPD_PARAMS_MAX)
            return SMTPD_PARSE_PARAM;
        path->params[path->nparam++] = mem_strndup(start, (size_t) (p - start));
        path->params[path->nparam] = NULL;
        if (path->args.len)
            buf_addch(&path->args, ' ');
        buf_add(&path->args, start, (size_t) (p - start));
    }
}

/*
 * smtpd_parse_path - take apart the argument of MAIL ("FROM:") or RCPT
 * ("TO:"): arg is what follows the verb.  The path must be empty
 * (smtpd_path_init or smtpd_path_free) beforehand.
 */
enum smtpd_parse_status smtpd_parse_path(const char *arg, const char *keyword,
                                         struct smtpd_path *path)
{
    size_t klen = strlen(keyword);
    const char *p = arg, *start, *end;

    while (*p == ' ')
        p++;
    if (strncasecmp(p, keyword, klen) != 0)
        return SMTPD_PARSE_SYNTAX;
    p += klen;
    while (*p == ' ')
        p++;
    if (*p == 0)
        return SMTPD_PARSE_SYNTAX;
    if (*p == '<') {
        int quoted = 0;

        start = ++p;
        /* Find the closing bracket; '>' may appear inside a quoted local part. */
        for (; *p && (quoted || *p != '>'); p++) {
            if (quoted && *p == '\\' && p[1])
                p++;
            else if (*p == '"')
                quoted = !quoted;
        }
        if (*p != '>')
            return SMTPD_PARSE_ADDRESS;
        end = p++;
        if (*p != ' ' && *p != 0)
            return SMTPD_PARSE_ADDRESS;
        path->bracketed = 1;
    } else {
        start = p;
        while (*p && *p != ' ')
            p++;
        end = p;
    }
    if (end - start > SMTPD_PATH_MAX)
        return SMTPD_PARSE_ADDRESS;
    if (start < end && *start == '@' && (start = smtpd_skip_route(start, end)) == NULL)
        return SMTPD_PARSE_ADDRESS;
    if (!smtpd_parse_mailbox(start, end))
        return SMTPD_PARSE_ADDRESS;
    if (!path->bracketed && start == end)
        return SMTPD_PARSE_SYNTAX;
    buf_set(&path->addr, start, (size_t) (end - start));
    for (; start < end; start++)
        if ((unsigned char) *start >= 0x80)
            path->non_ascii = 1;
    return smtpd_parse_params(p, path);
}

/*
 * smtpd_parse_param - does param ("KEY=VALUE" or "KEY") have this name
 * (case does not matter)?  *value is the text after '=', or NULL.
 */
int smtpd_parse_param(const char *param, const char *name, const char **value)
{
    size_t n = strlen(name);

    if (strncasecmp(param, name, n) != 0 || (param[n] != 0 && param[n] != '='))
        return 0;
    *value = param[n] == '=' ? param + n + 1 : NULL;
    return 1;
}

/* smtpd_parse_number - a decimal number without sign, at most max */
int smtpd_parse_number(const char *text, unsigned long long max, unsigned long long *value)
{
    unsigned long long v = 0;
    const char *p = text;

    if (text == NULL || *p == 0)
        return 0;
    for (; *p; p++) {
        if (!isdigit((unsigned char) *p))
            return 0;
        if (v > (max - (unsigned) (*p - '0')) / 10)
            return 0;
        v = v * 10 + (unsigned) (*p - '0');
    }
    *value = v;
    return 1;
}

/* smtpd_parse_helo - a HELO/EHLO argument: one word of printable bytes */
int smtpd_parse_helo(const char *arg)
{
    const char *p = arg;

    if (*p == 0)
        return 0;
    for (; *p; p++)
        if ((unsigned char) *p <= ' ' || *p == 0x7f)
            return 0;
    return 1;
}

/*
 * smtpd_utf8_valid - well-formed UTF-8 (RFC 3629): no overlong forms, no
 * surrogates, nothing past U+10FFFF, no NUL bytes.
 */
int smtpd_utf8_valid(const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *) data, *end = p + len;

    while (p < end) {
        unsigned c = *p;
        size_t need;
        unsigned min, cp;

        if (c == 0)
            return 0;
        if (c < 0x80) {
            p++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            need = 1, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            need = 2, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            need = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        if ((size_t) (end - p) <= need)
            return 0;
        for (size_t i = 1; i <= need; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += need + 1;
    }
    return 1;
}
