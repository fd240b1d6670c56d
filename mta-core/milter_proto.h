/*
 * milter_proto.h - the Sendmail milter wire format, MTA side (version 6).
 *
 * Pure functions, no I/O: build the packets mta-core sends, cut the byte
 * stream a milter sends back into packets, and decode each reply packet
 * into a struct with every length counted down and leftovers refused.
 * Everything a milter sends is untrusted; nothing here trusts a length
 * field before checking it against MILTER_REPLY_LIMIT and the bytes that
 * are really there.  The constants (SMFIC_*, SMFIR_*, SMFIF_*, SMFIP_*)
 * come from sendmail's own <libmilter/mfdef.h> and <libmilter/mfapi.h>.
 */
#ifndef MAILSIFT_MILTER_PROTO_H
#define MAILSIFT_MILTER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <libmilter/mfapi.h> /* SMFIF_* (it includes mfdef.h) */

#include "libmatch/buf.h"

#define MILTER_PROTO_VERSION 6 /* the highest version we speak */
#define MILTER_CHUNK_MAX 65535 /* largest body chunk we send */

/*
 * The largest reply packet we accept (length field, counting the command
 * byte).  libmilter's own data limit is 64 KB (1 MB with the MDS extension,
 * which we do not offer); a header or a body chunk from a milter is never
 * near this.  Anything larger is a broken or foreign peer.
 */
#define MILTER_REPLY_LIMIT (1024 * 1024 + 1)

/* Every action we can carry out at end of message. */
#define MILTER_ALL_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_DELRCPT | \
                            SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_CHGFROM | \
                            SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST)

/* Events a milter may ask not to see, and replies it may promise not to send. */
#define MILTER_NOSEND_MASK (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT | \
                            SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOUNKNOWN | \
                            SMFIP_NODATA)
#define MILTER_NOREPLY_MASK (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | \
                             SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_HDR | SMFIP_NR_EOH | \
                             SMFIP_NR_BODY)

/* Macro stages, as a milter names them in its SETSYMLIST (sendmail's SMFIM_*). */
enum milter_stage {
    MILTER_STAGE_CONNECT = 0,
    MILTER_STAGE_HELO = 1,
    MILTER_STAGE_MAIL = 2,
    MILTER_STAGE_RCPT = 3,
    MILTER_STAGE_DATA = 4,
    MILTER_STAGE_EOM = 5,
    MILTER_STAGE_EOH = 6,
    MILTER_STAGE_UNKNOWN = 7, /* ours: Postfix's milter_unknown_command_macros */
    MILTER_STAGE_COUNT = 8
};

/* A reply packet, decoded.  Pointers point into the packet's bytes. */
struct milter_reply {
    int cmd;                /* SMFIR_* (or SMFIC_OPTNEG) */
    uint32_t index;         /* INSHEADER, CHGHEADER */
    const char *str1;       /* header name, address, reason, reply text, body bytes */
    size_t len1;
    const char *str2;       /* header value, ESMTP arguments (NULL when absent) */
    size_t len2;
    uint32_t version;       /* OPTNEG */
    uint32_t actions;
    uint32_t protocol;
    const char *symlist[MILTER_STAGE_COUNT]; /* OPTNEG: macro lists per stage, or NULL */
};

const char *milter_proto_cmd_name(int cmd);
uint32_t milter_proto_version_events(int version);
const char *milter_proto_reply_name(int cmd);

/* Building packets: start, add fields, finish (which fills in the length). */
size_t milter_proto_start(struct buf *out, int cmd);
void milter_proto_add_u32(struct buf *out, uint32_t v);
void milter_proto_add_u16(struct buf *out, uint16_t v);
void milter_proto_add_byte(struct buf *out, int c);
void milter_proto_add_str(struct buf *out, const char *s);
void milter_proto_add_bytes(struct buf *out, const void *p, size_t n);
void milter_proto_finish(struct buf *out, size_t start);

/* Framing and decoding what a milter sends. */
int milter_proto_frame(const unsigned char *p, size_t avail, size_t *pkt_len, struct buf *err);
int milter_proto_decode(const unsigned char *data, size_t len, struct milter_reply *r, struct buf *err);
int milter_proto_smtp_reply_ok(const char *text, size_t len);
void milter_proto_unpercent(struct buf *reply);

#endif
