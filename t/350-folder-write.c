/*
 * 350-folder-write.c - procsort's folder writer, unit by unit: the bytes
 * an mbox gets ("From " escaping, the added newline, NUL bytes, the
 * header/body/Content-Length boundaries), how names are parsed into folder
 * types, and delivery to each folder type with LASTFOLDER, modes and links.
 * The expected bytes are what procmail 3.22 (Debian 3.22-27) wrote for
 * the same input; t/351-folder-diff.t checks the same against the real one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "procsort/folder.h"
#include "procsort/folder_name.h"
#include "t/lib/tap.h"

static char top[256];

/* msg_for - describe text as procmail's readmail would, without Content-Length */
static void msg_for(struct folder_msg *m, const char *text, size_t len)
{
    size_t start = 0, body = len, i;

    while (start < len && text[start++] == '\n')
        ;
    for (i = start; i < len && text[i] != 0; i++) {
        if (text[i] == '\n' && i + 1 < len && text[i + 1] == '\n') {
            body = i + 2;
            break;
        }
    }
    folder_msg_whole(m, text, len, start, body, body ? body - 1 : 0);
}

/* render - what folder_write puts out for the part, as a C string in out */
static void render(const struct folder_msg *m, enum folder_type type, int raw, struct buf *out)
{
    struct folder_opts o;
    char path[300], chunk[4096];
    ssize_t n;
    int fd;

    folder_opts_init(&o);
    o.raw = raw;
    snprintf(path, sizeof(path), "%s/render", top);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        bail("open %s: %s", path, strerror(errno));
    if (folder_dump(fd, type, m, &o, NULL) < 0)
        bail("folder_dump: %s", strerror(errno));
    buf_reset(out);
    fd = open(path, O_RDONLY);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        buf_add(out, chunk, (size_t) n);
    close(fd);
}

static void check_escape(const char *text, size_t len, const char *want, size_t wantlen,
                         const char *what)
{
    struct folder_msg m;
    struct buf out = BUF_INIT;

    msg_for(&m, text, len);
    render(&m, FOLDER_FILE, 0, &out);
    ok(out.len == wantlen && memcmp(out.data, want, wantlen) == 0, "mbox bytes: %s", what);
    if (!(out.len == wantlen && memcmp(out.data, want, wantlen) == 0))
        diag("got %zu bytes: %s", out.len, out.data);
    buf_free(&out);
}

#define S(x) x, sizeof(x) - 1

static void test_escaping(void)
{
    struct folder_msg m;
    struct buf out = BUF_INIT;
    static const char plain[] = "From a@b Mon Jan  1 00:00:00 2024\nSubject: x\nFrom h\n\n"
                                "From body first\nline\nFrom second\n>From third\nlast";

    check_escape(S(plain),
                 S("From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n>From h\n\n"
                   ">From body first\nline\n>From second\n>From third\nlast\n"),
                 "header and body From lines, no final newline gets one newline");
    check_escape(S("From a@b x\nS: x\n\nbody\n"), S("From a@b x\nS: x\n\nbody\n\n"),
                 "a final newline gets an empty line");
    check_escape(S("From a@b x\nS: x\n\nbody\n\n"), S("From a@b x\nS: x\n\nbody\n\n"),
                 "a final empty line is kept as is");
    /* procmail's strstr stops at a NUL: with a NUL in the header, the whole
     * message is header, and nothing after the NUL is escaped. */
    check_escape(S("From a@b x\nSubject: x\nFrom h1\nX: \0y\nFrom h2\n\nFrom 1\nA\0\nFrom 2\n"),
                 S("From a@b x\nSubject: x\n>From h1\nX: \0y\nFrom h2\n\nFrom 1\nA\0\nFrom 2\n\n"),
                 "a NUL in the header stops escaping");
    check_escape(S("From a@b x\nS: x\n\nFrom 1\nA\0\nFrom 2\nFrom 3\n"),
                 S("From a@b x\nS: x\n\n>From 1\nA\0\nFrom 2\nFrom 3\n\n"),
                 "a NUL in the body stops escaping there");
    check_escape(S("From a@b x\r\nS: x\r\n\r\nFrom 1\r\nFrom 2\r\n"),
                 S("From a@b x\r\nS: x\r\n\r\n>From 1\r\n>From 2\r\n\n"),
                 "CRLF: no empty line, everything is header and escaped");
    check_escape(S("From a@b x\nS: x\n\nFrom\nFrom  \nfrom x\n FROM x\nFrom"),
                 S("From a@b x\nS: x\n\nFrom\n>From  \nfrom x\n FROM x\nFrom\n"),
                 "only \"From \" with its space, case-sensitive, at a line start");

    /* Content-Length: procmail starts escaping past the body bytes it counts */
    msg_for(&m, S("From a@b x\nContent-Length:21\n\nFrom 1\nFrom 2\nFrom 3\n"));
    m.escape = m.body + 21;
    render(&m, FOLDER_FILE, 0, &out);
    is_string(out.data, "From a@b x\nContent-Length:21\n\nFrom 1\nFrom 2\nFrom 3\n\n",
              "nothing escaped within Content-Length");
    m.escape = m.body + 7;
    render(&m, FOLDER_FILE, 0, &out);
    is_string(out.data, "From a@b x\nContent-Length:21\n\nFrom 1\nFrom 2\n>From 3\n\n",
              "escaping resumes past the Content-Length bytes (a newline at escape counts)");

    /* parts: b (body only) writes the first body line unescaped, as procmail */
    msg_for(&m, S("From a@b x\nS: x\n\nFrom 1\nFrom 2\n"));
    m.from = m.body;
    m.count = m.len - m.body;
    render(&m, FOLDER_FILE, 0, &out);
    is_string(out.data, "From 1\n>From 2\n\n", "b: the first body line is not escaped");
    m.from = 0;
    m.count = m.body;
    render(&m, FOLDER_FILE, 0, &out);
    is_string(out.data, "From a@b x\nS: x\n\n", "h: the header ends in its empty line");
    m.count = m.len;
    render(&m, FOLDER_FILE, 1, &out);
    is_string(out.data, "From a@b x\nS: x\n\nFrom 1\nFrom 2\n", "r: raw, no escape, no newline");
    render(&m, FOLDER_PIPE, 0, &out);
    is_string(out.data, "From a@b x\nS: x\n\nFrom 1\nFrom 2\n\n", "pipe: no escape, empty line");
    render(&m, FOLDER_MAILDIR, 0, &out);
    is_string(out.data, "From a@b x\nS: x\n\nFrom 1\nFrom 2\n", "maildir: no escape, no newline");
    render(&m, FOLDER_MH, 0, &out);
    is_string(out.data, "From a@b x\nS: x\n\nFrom 1\nFrom 2\n\n", "MH: no escape, empty line");
    m.from = m.body;
    m.count = 0;
    render(&m, FOLDER_FILE, 0, &out);
    is_string(out.data, "\n", "an empty part is one newline");
    buf_free(&out);
}

static void test_parse(void)
{
    static const struct {
        const char *name, *base;
        enum folder_type type;
    } cases[] = {
        { "mbox", "mbox", FOLDER_FILE },   { "md/", "md", FOLDER_MAILDIR },
        { "md///", "md", FOLDER_MAILDIR }, { "mh/.", "mh", FOLDER_MH },
        { "mh//.", "mh", FOLDER_MH },      { "x/", "x", FOLDER_MAILDIR },
        { "//", "/", FOLDER_MAILDIR },     { "/.", "/.", FOLDER_FILE },
        { "a/.", "a", FOLDER_MH },         { "//.", "/", FOLDER_MH },
        { "/", "/", FOLDER_FILE },         { "", "", FOLDER_FILE },
        { "a/b/c/", "a/b/c", FOLDER_MAILDIR }, { "dir.", "dir.", FOLDER_FILE },
    };
    struct buf base = BUF_INIT;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum folder_type t = folder_parse(cases[i].name, &base);

        if (!ok(t == cases[i].type && strcmp(base.data, cases[i].base) == 0,
                "parse \"%s\" -> %d \"%s\"", cases[i].name, (int) cases[i].type, cases[i].base))
            diag("got %d \"%s\"", (int) t, base.data);
    }
    buf_reset(&base);
    folder_name_b64(&base, 0);
    is_string(base.data, "A", "base 64 of 0");
    buf_reset(&base);
    folder_name_b64(&base, 64 + 63);
    is_string(base.data, "_B", "base 64, low digit first");
    buf_free(&base);
}

static long file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long) st.st_size : -1;
}

static int mode_of(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (int) (st.st_mode & 07777) : -1;
}

static int count_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void test_deliver(void)
{
    static const char text[] = "From a@b Mon Jan  1 00:00:00 2024\n>From x\nSubject: x\n\nbody\n";
    struct folder_msg m;
    struct folder_opts o;
    struct buf last = BUF_INIT, err = BUF_INIT;
    const char *names[4];
    long written;
    struct stat st1, st2;
    char path[400];

    msg_for(&m, S(text));
    folder_opts_init(&o);
    umask(o.umask);

    names[0] = "mbox";
    is_int(folder_deliver(names, 1, &m, &o, &last, &written, &err), 0, "mbox delivered");
    is_string(last.data, "mbox", "LASTFOLDER is the mbox name");
    is_int(written, (long) sizeof(text), "written counts the added newline");
    is_int(file_size("mbox"), (long) sizeof(text), "mbox size");
    is_int(mode_of("mbox"), 0600, "mbox mode 0667 less umask 077");

    names[0] = "md/";
    is_int(folder_deliver(names, 1, &m, &o, &last, &written, &err), 0, "Maildir delivered");
    ok(strncmp(last.data, "md/new/", 7) == 0, "LASTFOLDER is md/new/NAME: %s", last.data);
    is_int(file_size(last.data), 17, "Maildir message has no From_ nor the > line after it");
    is_int(count_dir("md/tmp"), 0, "nothing left in tmp");
    is_int(mode_of("md"), 0700, "Maildir made 0777 less umask");

    names[0] = "mh/.";
    is_int(folder_deliver(names, 1, &m, &o, &last, &written, &err), 0, "MH delivered");
    is_string(last.data, "mh/1", "first MH message is 1");
    is_int(file_size("mh/1"), (long) sizeof(text), "MH keeps the From_ line, adds the empty line");
    close(open("mh/41", O_CREAT | O_WRONLY, 0600));
    close(open("mh/x7", O_CREAT | O_WRONLY, 0600));
    is_int(folder_deliver(names, 1, &m, &o, &last, &written, &err), 0, "MH delivered again");
    is_string(last.data, "mh/42", "MH takes the highest number plus one");
    is_int(count_dir("mh"), 4, "no temporary file left in the MH folder");

    mkdir("plain", 0755);
    chmod("plain", 0755);
    names[0] = "plain";
    is_int(folder_deliver(names, 1, &m, &o, &last, &written, &err), 0, "directory delivered");
    ok(strncmp(last.data, "plain/msg.", 10) == 0, "LASTFOLDER is plain/msg.XXXX: %s", last.data);
    if (stat(last.data, &st1) == 0) {
        struct buf want = BUF_INIT;

        buf_addstr(&want, "plain/msg.");
        folder_name_b64(&want, (unsigned long) st1.st_ino);
        is_string(last.data, want.data, "the name is the inode number in base 64");
        buf_free(&want);
    } else {
        ok(0, "the directory message exists");
    }
    is_int(mode_of("plain"), 0755, "the directory's mode is left alone under umask 077");

    names[0] = "md2/";
    names[1] = "mh2/.";
    names[2] = "dir2";
    names[3] = "md3/";
    is_int(folder_deliver(names, 4, &m, &o, &last, &written, &err), 0, "four folders");
    {
        char a[200], b[200], c[200], d[200];

        if (sscanf(last.data, "%199s %199s %199s %199s", a, b, c, d) == 4) {
            ok(strncmp(a, "md2/new/", 8) == 0, "first is the Maildir message");
            is_string(b, "mh2/1", "second is MH number 1");
            ok(strncmp(c, "dir2/msg.", 9) == 0, "third is in the directory dir2 (made)");
            ok(strncmp(d, "md3/new/", 8) == 0, "fourth in md3");
            stat(a, &st1);
            stat(d, &st2);
            ok(st1.st_ino == st2.st_ino && st1.st_nlink == 4, "all four are one file");
        } else {
            ok(0, "LASTFOLDER has four names: %s", last.data);
        }
    }

    names[0] = "mbox2";
    names[1] = "dir3";
    is_int(folder_deliver(names, 2, &m, &o, &last, &written, &err), 0, "a file first");
    is_string(last.data, "mbox2", "the other names are skipped");
    ok(access("dir3", F_OK) < 0, "a skipped name is not made");

    names[0] = "/dev/null";
    is_int(folder_deliver(names, 1, &m, &o, &last, &written, &err), 0, "/dev/null");
    is_string(last.data, "/dev/null", "LASTFOLDER=/dev/null");

    names[0] = "nodir/x/mbox";
    is_int(folder_deliver(names, 1, &m, &o, &last, &written, &err), -1, "missing directory fails");
    is_string(last.data, "nodir/x/mbox", "LASTFOLDER is set even so, as procmail");
    ok(err.len > 0, "with a reason: %s", err.data);
    buf_reset(&err);
    o.ignore_errors = 1;
    is_int(folder_deliver(names, 1, &m, &o, &last, &written, &err), 0, "but `i` says delivered");
    o.ignore_errors = 0;

    /* UMASK 022: the new-mail o+x mark, on the file and on Maildir's tmp */
    o.umask = 022;
    umask(022);
    chmod("mbox", 0600);
    names[0] = "mbox";
    folder_deliver(names, 1, &m, &o, &last, &written, &err);
    is_int(mode_of("mbox"), 0601, "UMASK 022: an arriving message sets o+x on the mbox");
    names[0] = "md/";
    folder_deliver(names, 1, &m, &o, &last, &written, &err);
    is_int(mode_of("md/tmp"), 0701, "and on a 0700 Maildir's tmp, as procmail does");
    names[0] = "mh/.";
    chmod("mh", 0700);
    folder_deliver(names, 1, &m, &o, &last, &written, &err);
    is_int(mode_of("mh"), 0701, "and on an MH directory");
    is_int(mode_of(last.data), 0645, "new files are 0667 less UMASK");
    umask(077);

    /* a name that says MH but is a file is an mbox */
    close(open("notdir", O_CREAT | O_WRONLY, 0600));
    names[0] = "notdir/.";
    o.umask = 077;
    is_int(folder_deliver(names, 1, &m, &o, &last, &written, &err), 0, "MH name on a file");
    is_string(last.data, "notdir", "delivered to the file as an mbox");
    snprintf(path, sizeof(path), "notdir");
    is_int(file_size(path), (long) sizeof(text), "as an mbox");

    buf_free(&last);
    buf_free(&err);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(top, sizeof(top), "%s/mailsift-350.XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(top))
        bail("mkdtemp: %s", strerror(errno));
    if (chdir(top) < 0)
        bail("chdir: %s", strerror(errno));
    test_escaping();
    test_parse();
    test_deliver();
    if (!getenv("KEEP_TMP")) {
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
        if (system(cmd) != 0)
            diag("could not remove %s", top);
    }
    return done_testing();
}
