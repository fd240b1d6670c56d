/*
 * fuzz-milter-reply.c - libFuzzer target: the bytes a milter sends to
 * mta-core, as mta-core's milter client takes them.
 *
 * The input is the milter's byte stream: it is cut into packets with
 * milter_proto_frame() and each packet decoded with milter_proto_decode(),
 * as milter_conn.c does; REPLYCODE text goes through the '%' handling;
 * the edits a milter may send at end of message (headers, recipients,
 * sender, body) are collected and applied to a small message, as after a
 * final CONTINUE.  Promises checked: a framed packet never claims more
 * than MILTER_REPLY_LIMIT, a decoded reply's strings lie inside the packet,
 * an accepted REPLYCODE is a valid 4xx/5xx reply, the message's headers
 * stay well formed (every name non-empty, no line break not followed by
 * white space).  A broken promise aborts and libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/buf.h"
#include "libmatch/msg.h"
#include "mta-core/milter_msg.h"
#include "mta-core/milter_proto.h"
#include "mta-core/smtpd_msg.h"

#define FUZZ_MAX_LEN 65536

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc, (void) argv;
    msg_open("fuzz-milter-reply", 0, 0); /* warnings and edit logs: nowhere */
    return 0;
}

/* inside - [p, p + n) lies within [start, start + len) */
static int inside(const char *p, size_t n, const uint8_t *start, size_t len)
{
    return p >= (const char *) start && p + n <= (const char *) start + len;
}

/* check_headers - what edits must never break */
static void check_headers(const struct smtpd_msg *m)
{
    size_t i;

    for (i = 0; i < m->nheader; i++) {
        const char *v = m->headers[i].value;

        if (m->headers[i].name[0] == 0)
            abort();
        for (; *v; v++)
            if (*v == '\n' && v[1] != ' ' && v[1] != '\t')
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct smtpd_msg *m;
    struct milter_msg_view view;
    struct milter_msg_edits edits;
    struct buf err = BUF_INIT, text = BUF_INIT;
    size_t pos = 0;

    if (size > FUZZ_MAX_LEN)
        return 0;
    m = smtpd_msg_new("/tmp");
    smtpd_msg_add_header(m, "Received", " from fuzz by mx");
    smtpd_msg_add_header(m, "Subject", " hello");
    smtpd_msg_add_header(m, "X-Tag", " one");
    smtpd_msg_add_rcpt(m, "rcpt@example.org", "");
    smtpd_msg_set_sender(m, "sender@example.org", "");
    memset(&view, 0, sizeof(view));
    view.msg = m;
    view.nours = 1;
    view.body_limit = 4096;
    milter_msg_edits_init(&edits);

    while (pos < size) {
        struct milter_reply r;
        size_t pkt_len = 0;
        int got;

        buf_reset(&err);
        got = milter_proto_frame(data + pos, size - pos, &pkt_len, &err);
        if (got <= 0)
            break;
        if (pkt_len < 1 || pkt_len > MILTER_REPLY_LIMIT)
            abort();
        if (milter_proto_decode(data + pos + 4, pkt_len, &r, &err) == 0) {
            const uint8_t *pkt = data + pos + 4;

            if ((r.str1 && !inside(r.str1, r.len1, pkt, pkt_len))
                || (r.str2 && !inside(r.str2, r.len2, pkt, pkt_len)))
                abort();
            switch (r.cmd) {
            case SMFIR_REPLYCODE:
                if (!milter_proto_smtp_reply_ok(r.str1, r.len1))
                    abort();
                buf_set(&text, r.str1, r.len1);
                milter_proto_unpercent(&text);
                break;
            case SMFIR_REPLBODY:
                milter_msg_edits_body(&edits, &view, r.str1, r.len1);
                break;
            case SMFIR_ADDHEADER:
            case SMFIR_INSHEADER:
            case SMFIR_CHGHEADER:
            case SMFIR_ADDRCPT:
            case SMFIR_ADDRCPT_PAR:
            case SMFIR_DELRCPT:
            case SMFIR_CHGFROM:
                milter_msg_edits_add(&edits, r.cmd, r.index, r.str1, r.len1, r.str2, r.len2);
                break;
            default:
                break;
            }
        }
        pos += 4 + pkt_len;
    }
    if (edits.error == NULL)
        milter_msg_edits_apply(&view, &edits, size % 2, "FUZZ", "fuzz");
    milter_msg_edits_clear(&edits);
    check_headers(m);
    if (view.ours_first >= m->nheader || strcmp(m->headers[view.ours_first].name, "Received") != 0
        || strcmp(m->headers[view.ours_first].value, " from fuzz by mx") != 0)
        abort(); /* our own header is never touched, and is always tracked */
    smtpd_msg_free(m);
    buf_free(&err);
    buf_free(&text);
    return 0;
}
