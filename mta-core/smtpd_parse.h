/*
 * smtpd_parse.h - parsing SMTP command lines: verbs, paths, ESMTP
 * parameters, and UTF-8 validity.
 *
 * Pure functions over one command line (CRLF already removed), so they are
 * easy to test and to fuzz; the session decides what to reply.
 * Trusts: nothing; every limit is checked before it could be passed.
 */
#ifndef MAILSIFT_SMTPD_PARSE_H
#define MAILSIFT_SMTPD_PARSE_H

#include <stddef.h>

#include "libmatch/buf.h"

#define SMTPD_PATH_MAX 512   /* bytes of an address between < and > */
#define SMTPD_PARAMS_MAX 16  /* ESMTP parameters on one MAIL or RCPT */

enum smtpd_parse_status {
    SMTPD_PARSE_OK,
    SMTPD_PARSE_SYNTAX,  /* the command itself is malformed ("Syntax: MAIL FROM:<address>") */
    SMTPD_PARSE_ADDRESS, /* the address is ("Bad sender address syntax") */
    SMTPD_PARSE_PARAM,   /* an ESMTP parameter is malformed or there are too many */
};

/* A MAIL FROM or RCPT TO argument, taken apart. */
struct smtpd_path {
    struct buf addr;                      /* without <> and source route; "" for <> */
    int bracketed;                        /* it came in <...> */
    int non_ascii;                        /* the address has 8-bit bytes */
    char *params[SMTPD_PARAMS_MAX + 1];   /* "SIZE=100", "SMTPUTF8", ... then NULL */
    size_t nparam;
    struct buf args;                      /* the parameters as one string, "" if none */
};

void smtpd_path_init(struct smtpd_path *path);
void smtpd_path_free(struct smtpd_path *path);

size_t smtpd_parse_verb(const char *line, size_t len);
enum smtpd_parse_status smtpd_parse_path(const char *arg, const char *keyword,
                                         struct smtpd_path *path);
int smtpd_parse_param(const char *param, const char *name, const char **value);
int smtpd_utf8_valid(const char *data, size_t len);
int smtpd_parse_number(const char *text, unsigned long long max, unsigned long long *value);
int smtpd_parse_helo(const char *arg);

#endif
