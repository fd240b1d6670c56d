/*
 * 300-procsort-mail.c - procsort reads a message as procmail 3.22 does:
 * the From_ line it keeps, replaces or makes up (-d, -f, -f -), the end of
 * the header (NUL bytes included), Content-Length rewriting, which "From "
 * lines an mbox writer escapes, and joined continuation lines.  The
 * expected texts were taken from real procmail runs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "procsort/mail.h"
#include "t/lib/tap.h"

#define NOW 1795290816L /* Sat Nov 21 19:53:36 2026 UTC */

static void read_text(struct mail *mail, const char *text, size_t len, const struct mail_from *from)
{
    int fds[2];
    struct buf err = BUF_INIT;

    if (pipe(fds) != 0)
        bail("pipe");
    if (write(fds[1], text, len) != (ssize_t) len)
        bail("write");
    close(fds[1]);
    mail_init(mail);
    if (mail_read(mail, fds[0], from, &err) != 0)
        bail("mail_read: %s", err.data);
    close(fds[0]);
    buf_free(&err);
}

static void check_read(const char *in, const struct mail_from *from, const char *want, const char *what)
{
    struct mail mail;

    read_text(&mail, in, strlen(in), from);
    is_string(mail.text.data, want, "%s", what);
    mail_free(&mail);
}

/* The escape points as a string of offsets, "12,40". */
static void escapes(const struct mail *mail, struct buf *out)
{
    size_t at = 0;

    buf_reset(out);
    while ((at = mail_next_escape(mail, at)) < mail->text.len)
        buf_printf(out, "%s%zu", out->len ? "," : "", at);
}

int main(void)
{
    struct mail_from plain = { 0, "root", 1, 0, NOW };
    struct mail_from fflag = { "foo@bar", "root", 1, 0, NOW };
    struct mail_from refresh = { "-", "root", 1, 0, NOW };
    struct mail_from deliver = { 0, "joe", 1, 1, NOW };
    struct mail_from untrusted = { "evil@x", "joe", 0, 1, NOW };
    struct mail_from ignored = { "evil@x", "joe", -1, 1, NOW };
    struct mail mail;
    struct buf b = BUF_INIT;
    size_t len;

    setenv("TZ", "UTC", 1);
    tzset();

    check_read("Subject: x\n\nbody\n", &plain, "Subject: x\n\nbody\n", "no -d, no -f: the text as read");
    check_read("\n\nSubject: x\n\nbody\n", &plain, "\n\nSubject: x\n\nbody\n", "no -d, no -f: leading newlines kept");
    check_read("From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n", &fflag,
               "From foo@bar  Sat Nov 21 19:53:36 2026\nSubject: x\n\nbody\n", "-f replaces the From_ line");
    check_read("\n\nSubject: x\n\nbody\n", &refresh,
               "From root  Sat Nov 21 19:53:36 2026\nSubject: x\n\nbody\n",
               "-f - without a From_ line makes one for the invoker, leading newlines dropped");
    check_read("From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nb\n", &refresh,
               "From a@b  Sat Nov 21 19:53:36 2026\nSubject: x\n\nb\n", "-f - refreshes the date only");
    check_read("From a@b Mon Jan  1 00:00:00 2024\nX: y\n\nb\n", &deliver,
               "From a@b Mon Jan  1 00:00:00 2024\nX: y\n\nb\n", "-d keeps an existing From_ line");
    check_read("X: y\n\nb\n", &deliver, "From joe  Sat Nov 21 19:53:36 2026\nX: y\n\nb\n",
               "-d makes up a From_ line for the invoker");
    check_read("X: y\n\nb\n", &untrusted,
               "From evil@x  Sat Nov 21 19:53:36 2026\n>From joe  Sat Nov 21 19:53:36 2026\nX: y\n\nb\n",
               "an untrusted -f is recorded with a >From line");
    check_read("X: y\n\nb\n", &ignored, "From joe  Sat Nov 21 19:53:36 2026\nX: y\n\nb\n",
               "an untrusted -f with -o is ignored");
    check_read("From a@b Mon Jan  1 00:00:00 2024\nX: y\n\nb\n", &ignored,
               "From joe  Sat Nov 21 19:53:36 2026\nX: y\n\nb\n", "-d unprivileged with -o drops a bogus From_");

    /* Content-Length, as real procmail rewrote it. */
    read_text(&mail, "\n\nSubject: x\nContent-Length: 3\n\nbody\nFrom me\n", 45, &refresh);
    is_string(mail.text.data, "From root  Sat Nov 21 19:53:36 2026\nSubject: x\nContent-Length:13\n\nbody\nFrom me\n",
              "Content-Length is filled with the real length in the room it has");
    escapes(&mail, &b);
    is_string(b.data, "", "no escapes in the part Content-Length covers");
    mail_free(&mail);

    read_text(&mail, "X: y\nContent-length:  100000\n\nbody\nFrom me\n", 43, &plain);
    is_string(mail.text.data, "X: y\nContent-length:      13\n\nbody\nFrom me\n", "right-aligned in a wider field");
    mail_free(&mail);

    read_text(&mail, "X: y\nContent-Length:\n\nbody\nFrom me\n", 35, &plain);
    is_string(mail.text.data, "X: y\nContent-Length:\n\nbody\nFrom me\n", "no room: left alone");
    escapes(&mail, &b);
    is_string(b.data, "27", "no room: everything in the body is escaped");
    mail_free(&mail);

    mail_init(&mail);
    mail.berkeley = 1;
    buf_setstr(&mail.text, "X: y\nContent-Length: 3\n\nbody\nFrom me\n");
    mail_parse(&mail);
    is_string(mail.text.data, "X: y\nContent-Length: 3\n\nbody\nFrom me\n", "-Y: Content-Length untouched");
    escapes(&mail, &b);
    is_string(b.data, "29", "-Y: the body's From line is escaped");
    mail_free(&mail);

    read_text(&mail, "From x\nX: y\nFrom z\n\nFrom body\nok\nFrom again\n", 44, &plain);
    is_int(mail.body, 20, "the body starts past the empty line");
    escapes(&mail, &b);
    is_string(b.data, "12,20,33", "header and body From lines escaped, the first line not");
    mail_free(&mail);

    read_text(&mail, "X: y\n\nbody\n\0\nFrom x\n", 20, &plain);
    escapes(&mail, &b);
    is_string(b.data, "", "a NUL byte ends the search in the body, as strstr() did");
    mail_free(&mail);

    read_text(&mail, "X: a\0b\n\nbody\n", 13, &plain);
    is_int(mail.body, 13, "a NUL in the header: the whole message is header");
    mail_free(&mail);

    read_text(&mail, "X: y", 4, &plain);
    is_int(mail.body, 4, "no empty line: all header");
    mail_free(&mail);

    read_text(&mail, "Subject: a\n\tb\nTo: c\n  d\n\nx\n\ty\n", 30, &plain);
    mail_joined_header(&mail, &b);
    is_string(b.data, "Subject: a \tb\nTo: c   d\n\n", "continuation lines are joined for matching");
    (void) mail_header(&mail, &len);
    is_int(len, 25, "header length includes the empty line");
    (void) mail_body(&mail, &len);
    is_int(len, 5, "body length");
    mail_set_body(&mail, "new\n", 4);
    is_string(mail.text.data, "Subject: a\n\tb\nTo: c\n  d\n\nnew\n", "a body filter keeps the header");
    mail_set_header(&mail, "A: b\n\n", 6);
    is_string(mail.text.data, "A: b\n\nnew\n", "a header filter keeps the body");
    is_int(mail.body, 6, "and the body offset follows");
    mail_free(&mail);
    buf_free(&b);
    return done_testing();
}
