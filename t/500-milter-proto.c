/*
 * 500-milter-proto.c - the milter wire format, MTA side: packets we build,
 * framing of what a milter sends (bad lengths, a text answer from
 * something that is not a milter), decoding of every reply with lengths
 * counted down and leftovers refused, SMTP reply validation as Postfix's,
 * '%' handling.
 */
#include <string.h>

#include "libmatch/buf.h"
#include "mta-core/milter_proto.h"
#include "t/lib/tap.h"

#define S(lit) lit, sizeof(lit) - 1

/* decode - frame and decode a packet given as command byte + data */
static int decode(const char *data, size_t len, struct milter_reply *r, struct buf *err)
{
    buf_reset(err);
    return milter_proto_decode((const unsigned char *) data, len, r, err);
}

static void test_build(void)
{
    struct buf b = BUF_INIT;
    size_t start;

    start = milter_proto_start(&b, SMFIC_OPTNEG);
    milter_proto_add_u32(&b, 6);
    milter_proto_add_u32(&b, 0x1ff);
    milter_proto_add_u32(&b, 0x1fffff);
    milter_proto_finish(&b, start);
    is_int(b.len, 17, "OPTNEG packet is 4 + 1 + 12 bytes");
    ok(memcmp(b.data, "\0\0\0\x0dO\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff", 17) == 0,
       "OPTNEG bytes: length 13, 'O', version, actions, protocol in network order");

    buf_reset(&b);
    start = milter_proto_start(&b, SMFIC_CONNECT);
    milter_proto_add_str(&b, "host");
    milter_proto_add_byte(&b, SMFIA_INET);
    milter_proto_add_u16(&b, 25);
    milter_proto_add_str(&b, "192.0.2.1");
    milter_proto_finish(&b, start);
    is_int(b.len, 4 + 1 + 5 + 1 + 2 + 10, "CONNECT packet length");
    ok(memcmp(b.data, "\0\0\0\x13" "Chost\0" "4\0\x19" "192.0.2.1\0", b.len) == 0,
       "CONNECT bytes: host, family, port, address");

    /* A second packet appended to the same buffer keeps the first intact. */
    start = milter_proto_start(&b, SMFIC_ABORT);
    milter_proto_finish(&b, start);
    ok(memcmp(b.data + 23, "\0\0\0\x01" "A", 5) == 0, "ABORT appended after CONNECT");
    buf_free(&b);
}

static void test_frame(void)
{
    struct buf err = BUF_INIT;
    size_t len = 0;

    is_int(milter_proto_frame((const unsigned char *) "\0\0", 2, &len, &err), 0,
           "two bytes: not yet a length");
    is_int(milter_proto_frame((const unsigned char *) "\0\0\0\x01", 4, &len, &err), 0,
           "length 1 without its command byte: not yet");
    is_int(milter_proto_frame((const unsigned char *) "\0\0\0\x01" "c", 5, &len, &err), 1,
           "length 1 with 'c': a whole packet");
    is_int(len, 1, "its length");
    is_int(milter_proto_frame((const unsigned char *) "\0\0\0\0", 4, &len, &err), -1,
           "length 0 is refused");
    is_string(err.data, "bad packet length: 0", "and says so");
    buf_reset(&err);
    is_int(milter_proto_frame((const unsigned char *) "\x00\x10\x00\x02", 4, &len, &err), -1,
           "a length just over the limit is refused");
    ok(strstr(err.data, "unreasonable packet length: 1048578 > 1048577") != NULL,
       "with the sizes: %s", err.data);
    ok(strstr(err.data, "not a milter") == NULL, "binary garbage is not called text");
    buf_reset(&err);
    is_int(milter_proto_frame((const unsigned char *) "\x00\x10\x00\x01", 4, &len, &err), 1 - 1,
           "a length at the limit is accepted (and waits for its bytes)");
    is_int(milter_proto_frame((const unsigned char *) "220 mx.example.org ESMTP\r\n", 26, &len,
                              &err), -1, "an SMTP greeting is refused");
    ok(strstr(err.data, "not a milter: it answered with text \"220 mx.example.org ESMTP\\r\\n\"")
           != NULL, "and named as text: %s", err.data);
    buf_reset(&err);
    is_int(milter_proto_frame((const unsigned char *) "UNKNOWN COMMAND\n", 16, &len, &err), -1,
           "a text error is refused");
    ok(strstr(err.data, "not a milter") != NULL, "as not a milter");
    buf_free(&err);
}

static void test_decode(void)
{
    struct milter_reply r;
    struct buf err = BUF_INIT;

    ok(decode(S("c"), &r, &err) == 0 && r.cmd == SMFIR_CONTINUE, "continue");
    ok(decode(S("c\0"), &r, &err) < 0, "continue with a data byte is refused");
    is_string(err.data, "reply SMFIR_CONTINUE was followed by 1 data bytes", "the reason");
    ok(decode(S("a"), &r, &err) == 0 && decode(S("r"), &r, &err) == 0
           && decode(S("t"), &r, &err) == 0 && decode(S("d"), &r, &err) == 0
           && decode(S("s"), &r, &err) == 0 && decode(S("p"), &r, &err) == 0
           && decode(S("4"), &r, &err) == 0, "accept, reject, tempfail, discard, skip, progress, shutdown");
    ok(decode(S("Z"), &r, &err) < 0 && strcmp(err.data, "unknown reply code 0x5a") == 0,
       "an unknown reply code is refused: %s", err.data);
    ok(decode(S(""), &r, &err) < 0, "an empty packet is refused");

    ok(decode(S("y550 5.7.1 go away\0"), &r, &err) == 0 && r.len1 == 17
           && memcmp(r.str1, "550 5.7.1 go away", 17) == 0, "replycode with its NUL");
    ok(decode(S("y450 4.7.1 later"), &r, &err) == 0 && r.len1 == 15,
       "replycode without a NUL is taken whole");
    ok(decode(S("y550-5.7.1 one\r\n550 5.7.1 two\0"), &r, &err) == 0, "multi-line replycode");
    ok(decode(S("y250 ok\0"), &r, &err) < 0 && strstr(err.data, "malformed reply") != NULL,
       "a 2xx replycode is refused: %s", err.data);
    ok(decode(S("y550 5.7\0.1 x\0"), &r, &err) < 0, "a NUL inside the reply text is refused");

    ok(decode(S("h" "X-A\0" "v\0"), &r, &err) == 0 && strcmp(r.str1, "X-A") == 0
           && strcmp(r.str2, "v") == 0, "addheader name and value");
    ok(decode(S("h" "X-A\0" "v"), &r, &err) < 0
           && strcmp(err.data, "SMFIR_ADDHEADER: missing string null terminator") == 0,
       "addheader value without NUL: %s", err.data);
    ok(decode(S("h" "X-A\0" "v\0" "x"), &r, &err) < 0, "addheader with leftover bytes");
    ok(decode(S("h" "\0" "v\0"), &r, &err) < 0 && strstr(err.data, "bad header name") != NULL,
       "empty header name refused");
    ok(decode(S("h" "X A\0" "v\0"), &r, &err) < 0, "header name with a space refused");
    ok(decode(S("h" "X:A\0" "v\0"), &r, &err) < 0, "header name with a colon refused");
    ok(decode(S("h" "X-A\0" "a\nBcc: x\0"), &r, &err) < 0,
       "a value that would start a new header is refused");
    ok(decode(S("h" "X-A\0" "a\r\n\tb\0"), &r, &err) == 0, "a folded value is fine");
    ok(decode(S("h" "X-A\0" "a\rb\0"), &r, &err) < 0, "a bare CR in a value is refused");

    ok(decode(S("i\0\0\0\x02" "X-A\0" "v\0"), &r, &err) == 0 && r.index == 2,
       "insheader with its index");
    ok(decode(S("i\0\0\x02"), &r, &err) < 0
           && strstr(err.data, "too short for network long") != NULL, "insheader too short");
    ok(decode(S("m\0\0\0\x01" "Subject\0" "\0"), &r, &err) == 0 && r.index == 1 && r.len2 == 0,
       "chgheader with an empty value (delete)");

    ok(decode(S("+<a@b>\0"), &r, &err) == 0 && strcmp(r.str1, "<a@b>") == 0, "addrcpt");
    ok(decode(S("-<a@b>\0"), &r, &err) == 0, "delrcpt");
    ok(decode(S("-<a@b>\0x\0"), &r, &err) < 0, "delrcpt with an extra string is refused");
    ok(decode(S("2<a@b>\0" "NOTIFY=NEVER\0"), &r, &err) == 0 && r.str2
           && strcmp(r.str2, "NOTIFY=NEVER") == 0, "addrcpt_par with arguments");
    ok(decode(S("2<a@b>\0"), &r, &err) == 0 && r.str2 == NULL, "addrcpt_par without arguments");
    ok(decode(S("e<s@b>\0"), &r, &err) == 0 && r.str2 == NULL, "chgfrom without arguments");
    ok(decode(S("e<s@b>\0" "RET=HDRS\0"), &r, &err) == 0 && strcmp(r.str2, "RET=HDRS") == 0,
       "chgfrom with arguments");
    ok(decode(S("b" "any\0bytes\r\n"), &r, &err) == 0 && r.len1 == 11,
       "replbody takes any bytes");
    ok(decode(S("q" "spam\0"), &r, &err) == 0 && strcmp(r.str1, "spam") == 0, "quarantine");

    ok(decode(S("O\0\0\0\x06\0\0\x01\xff\0\0\0\x80"), &r, &err) == 0 && r.version == 6
           && r.actions == 0x1ff && r.protocol == 0x80, "optneg");
    ok(decode(S("O\0\0\0\x06\0\0\x01\xff\0\0\0\0" "\0\0\0\0" "{client_addr} j\0"
              "\0\0\0\x03" "{rcpt_addr}\0"), &r, &err) == 0
           && r.symlist[0] && strcmp(r.symlist[0], "{client_addr} j") == 0
           && r.symlist[3] && strcmp(r.symlist[3], "{rcpt_addr}") == 0 && r.symlist[1] == NULL,
       "optneg with macro lists for connect and rcpt");
    ok(decode(S("O\0\0\0\x06\0\0\x01\xff\0\0"), &r, &err) < 0, "short optneg is refused");
    ok(decode(S("O\0\0\0\x06\0\0\x01\xff\0\0\0\0" "\0\0\0\0" "x"), &r, &err) < 0,
       "optneg macro list without NUL is refused");
    buf_free(&err);
}

static void test_reply_ok(void)
{
#define OKR(s) milter_proto_smtp_reply_ok(s, strlen(s))
    ok(OKR("550 5.7.1 no"), "550 with enhanced code");
    ok(OKR("450 later"), "450 without enhanced code");
    ok(OKR("550 "), "code and space only");
    ok(!OKR("550"), "code alone");
    ok(!OKR("250 ok"), "2xx");
    ok(!OKR("550-5.7.1 no"), "final line with '-'");
    ok(OKR("550-5.7.1 a\r\n550 5.7.1 b"), "two lines");
    ok(!OKR("550-5.7.1 a\n550 5.7.1 b"), "lines separated by bare LF");
    ok(!OKR("550 5.7.1 a\r\n"), "final line ending in CRLF");
    ok(!OKR("550 4.7.1 no"), "enhanced code of the wrong class");
    ok(!OKR("5x0 no"), "non-digit code");
    ok(!OKR(""), "empty");
#undef OKR
}

static void test_unpercent(void)
{
    struct buf b = BUF_INIT;

    buf_setstr(&b, "550 5.7.1 100%% spam, 50%off%");
    milter_proto_unpercent(&b);
    is_string(b.data, "550 5.7.1 100% spam, 50off", "double percent becomes one, a lone one goes");
    buf_free(&b);
}

int main(void)
{
    test_build();
    test_frame();
    test_decode();
    test_reply_ok();
    test_unpercent();
    return done_testing();
}
