/*
 * tls_server.c - OpenSSL for STARTTLS: one server context from
 * smtpd_tls_cert_file, smtpd_tls_key_file, smtpd_tls_protocols and
 * smtpd_tls_ciphers.
 *
 * smtpd_tls_security_level follows Postfix: "" (the default) means "may"
 * when a certificate and key are configured and "none" otherwise; "may"
 * offers STARTTLS; "encrypt" also requires it before MAIL; "none" never
 * offers it.  A certificate that does not load is fatal at start-up: a
 * server that silently stops offering TLS is worse than one that does not
 * start.  smtpd_tls_protocols takes Postfix's forms ">=TLSv1.2" and
 * "!SSLv3, !TLSv1" (a minimum is derived from the exclusions).
 *
 * Trusts: the files the operator names.
 */
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/smtpd_server.h"

static const struct {
    const char *name;
    int version;
} tls_versions[] = {
    { "SSLv3", SSL3_VERSION },
    { "TLSv1", TLS1_VERSION },
    { "TLSv1.1", TLS1_1_VERSION },
    { "TLSv1.2", TLS1_2_VERSION },
    { "TLSv1.3", TLS1_3_VERSION },
};

#define TLS_NVERSIONS (sizeof(tls_versions) / sizeof(tls_versions[0]))

/* tls_version_index - position of a protocol name in tls_versions, or -1 */
static int tls_version_index(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < TLS_NVERSIONS; i++)
        if (strlen(tls_versions[i].name) == len && strncasecmp(tls_versions[i].name, name, len) == 0)
            return (int) i;
    return -1;
}

/* tls_protocols - the minimum version smtpd_tls_protocols allows; 0 with err when bad */
static int tls_protocols(const char *value, struct buf *err)
{
    const char *p = value;
    int min = TLS1_VERSION, excluded[TLS_NVERSIONS] = { 0 };
    size_t i;

    while (*p) {
        size_t n;
        int idx;

        p += strspn(p, ", :\t");
        n = strcspn(p, ", :\t");
        if (n == 0)
            break;
        if (p[0] == '>' && p[1] == '=' && (idx = tls_version_index(p + 2, n - 2)) >= 0) {
            min = tls_versions[idx].version;
        } else if (p[0] == '!' && (idx = tls_version_index(p + 1, n - 1)) >= 0) {
            excluded[idx] = 1;
        } else if ((idx = tls_version_index(p, n)) < 0) {
            buf_printf(err, "smtpd_tls_protocols: unknown protocol \"%.*s\"", (int) n, p);
            return 0;
        }
        p += n;
    }
    /* The lowest version at or above the minimum that is not excluded. */
    for (i = 0; i < TLS_NVERSIONS; i++)
        if (!excluded[i] && tls_versions[i].version >= min)
            return tls_versions[i].version;
    buf_printf(err, "smtpd_tls_protocols: \"%s\" leaves no protocol", value);
    return 0;
}

/*
 * tls_server_init - the SSL_CTX for STARTTLS, or NULL when TLS is off
 * (*level says which).  NULL with err set when the settings are wrong.
 */
SSL_CTX *tls_server_init(struct config *cfg, int *level, struct buf *err)
{
    char *lvl = mem_strdup(config_get(cfg, "smtpd_tls_security_level"));
    char *cert, *key;
    SSL_CTX *ctx;
    int min;

    cert = mem_strdup(config_get(cfg, "smtpd_tls_cert_file"));
    key = mem_strdup(config_get(cfg, "smtpd_tls_key_file"));
    if (*key == 0 && *cert) {
        mem_free(key);
        key = mem_strdup(cert); /* Postfix: the key may be in the certificate file */
    }
    *level = SMTPD_TLS_NONE;
    if (strcmp(lvl, "none") == 0 || (*lvl == 0 && *cert == 0)) {
        mem_free(lvl);
        mem_free(cert);
        mem_free(key);
        return NULL;
    }
    if (*lvl == 0 || strcmp(lvl, "may") == 0) {
        *level = SMTPD_TLS_MAY;
    } else if (strcmp(lvl, "encrypt") == 0) {
        *level = SMTPD_TLS_ENCRYPT;
    } else {
        buf_printf(err, "smtpd_tls_security_level: unknown level \"%s\" (none, may, encrypt)", lvl);
        goto fail;
    }
    if (*cert == 0) {
        buf_printf(err, "smtpd_tls_security_level = %s needs smtpd_tls_cert_file", lvl);
        goto fail;
    }
    /* config_get's result lasts until the next call: the values used later are copies. */
    if ((min = tls_protocols(config_get(cfg, "smtpd_tls_protocols"), err)) == 0)
        goto fail;
    if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
        buf_addstr(err, "SSL_CTX_new failed");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(ctx, min);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (*config_get(cfg, "smtpd_tls_ciphers")
        && SSL_CTX_set_cipher_list(ctx, config_get(cfg, "smtpd_tls_ciphers")) != 1) {
        buf_printf(err, "smtpd_tls_ciphers: no usable cipher in \"%s\"", config_get(cfg, "smtpd_tls_ciphers"));
        SSL_CTX_free(ctx);
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1
        || SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1
        || SSL_CTX_check_private_key(ctx) != 1) {
        char text[256];

        ERR_error_string_n(ERR_get_error(), text, sizeof(text));
        buf_printf(err, "cannot load certificate %s and key %s: %s", cert, key, text);
        SSL_CTX_free(ctx);
        goto fail;
    }
    mem_free(lvl);
    mem_free(cert);
    mem_free(key);
    return ctx;
fail:
    mem_free(lvl);
    mem_free(cert);
    mem_free(key);
    *level = SMTPD_TLS_NONE;
    return NULL;
}
