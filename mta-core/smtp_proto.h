/*
 * smtp_proto.h - mta-core's SMTP client: one message, several recipients,
 * one next hop; each address of the next hop tried in turn until the
 * recipients are done or the session limit is reached, one SMTP session
 * per address carrying every recipient (RFC 5321, RFC 2920 pipelining,
 * RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 3207 STARTTLS, RFC 3461 DSN
 * parameters, RFC 6531 SMTPUTF8).  Postfix's smtp(8) is the model for
 * what is tried again where, and for the words of every result.
 *
 * Blocking with time limits: it runs in a delivery process of its own.
 * Trusts: its configuration; nothing the server says.
 */
#ifndef MAILSIFT_SMTP_PROTO_H
#define MAILSIFT_SMTP_PROTO_H

#include <stddef.h>
#include <sys/types.h>

#include "libmatch/buf.h"
#include "mta-core/masq_addr.h"
#include "mta-core/smtp_addr.h"

typedef struct ssl_ctx_st SSL_CTX;

#define SMTP_TLS_NONE 0
#define SMTP_TLS_MAY 1      /* STARTTLS when offered; plaintext if it fails */
#define SMTP_TLS_ENCRYPT 2  /* STARTTLS or nothing (no certificate check) */

/* What the client reads from mta-core.conf (smtp_conf_init in smtp_transport.c). */
struct smtp_conf {
    char *helo_name;            /* smtp_helo_name */
    char *myhostname;
    char *relayhost;            /* "" for MX delivery */
    unsigned tcp_port;          /* smtp_tcp_port: where a next hop without :port listens */
    struct smtp_addr_conf addr;
    long connect_timeout;
    long helo_timeout;
    long mail_timeout;
    long rcpt_timeout;
    long data_init_timeout;
    long data_xfer_timeout;
    long data_done_timeout;
    long quit_timeout;
    long starttls_timeout;
    int tls_level;              /* SMTP_TLS_* */
    SSL_CTX *tls_ctx;
    int always_ehlo;
    int never_ehlo;
    int skip_5xx_greeting;
    int mime_conversion;        /* !disable_mime_output_conversion */
    size_t line_limit;          /* smtp_line_length_limit, 0: none */
    size_t session_limit;       /* smtp_mx_session_limit */
    size_t rcpt_limit;          /* smtp_destination_recipient_limit */
    struct masq masq;
};

/* The message, as the queue file has it. */
struct smtp_msg {
    const char *queue_id;
    const char *sender;         /* "" for the null sender */
    int fd;                     /* the queue file */
    off_t content_start;
    off_t content_end;
    size_t size;
    const char *body;           /* BODY= as received: "8BITMIME", "7BIT" or NULL */
    int smtputf8;               /* SMTPUTF8 was asked for */
    const char *ret;            /* RET= or NULL */
    const char *envid;          /* ENVID= (xtext) or NULL */
};

/* One recipient and what became of it. */
#define SMTP_RCPT_OPEN 0
#define SMTP_RCPT_SENT 1
#define SMTP_RCPT_BOUNCED 2
#define SMTP_RCPT_DEFERRED 3

struct smtp_rcpt {
    const char *address;
    const char *orcpt;          /* ORCPT= as received (xtext), or NULL */
    int notify;                 /* QUEUE_NOTIFY_* */
    int status;                 /* SMTP_RCPT_* */
    char dsn[16];
    struct buf text;
    struct buf relay;           /* "host[addr]:port" or "none" */
    int accepted;               /* RCPT TO said 2xx in the current session */
};

void smtp_rcpt_init(struct smtp_rcpt *r, const char *address, const char *orcpt, int notify);
void smtp_rcpt_free(struct smtp_rcpt *r);
void smtp_deliver(const struct smtp_conf *conf, const struct smtp_msg *msg, const char *nexthop,
                  struct smtp_rcpt *rcpts, size_t n);
const char *smtp_status_name(int status);

/*
 * smtp_deliver() sends msg to the recipients (all of one next hop:
 * relayhost, or their domain) and leaves every recipient with a final
 * status for this attempt: sent, bounced or deferred, an enhanced status
 * code and a text in Postfix's words.
 */

/* smtp_content.c: the message as it goes out after DATA. */
struct smtp_conn;

int smtp_content_send(struct smtp_conn *c, const struct smtp_conf *conf, const struct smtp_msg *msg,
                      int downgrade, long timeout, struct buf *err);
int smtp_content_scan(const struct smtp_msg *msg, int *eightbit_cte, int *utf8_headers, struct buf *err);

/*
 * smtp_content_send() writes the content, masqueraded and (when
 * downgrade) converted to 7 bit, with CRLF line ends, dot-stuffing and
 * lines longer than smtp_line_length_limit folded, then ".": SMTP_IO_OK,
 * an SMTP_IO_* failure, or 1 when the queue file could not be read (err).
 * smtp_content_scan() says whether the message has a
 * Content-Transfer-Encoding of 8bit or binary (so that it counts as 8-bit
 * even without BODY=8BITMIME, as Postfix's cleanup decides) and whether
 * its primary header has non-ASCII bytes; 0, or -1 with err.
 */

#endif
