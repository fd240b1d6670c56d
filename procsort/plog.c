/*
 * plog.c - procsort's log: standard error, which $LOGFILE replaces, as in
 * procmail (so that pipes and filters log to the same file).
 *
 * Error lines read "procsort: text"; with VERBOSE they are preceded, once
 * a second, by a "procsort: [pid] date" line as procmail's are.  The log
 * abstract is procmail's, byte for byte, so that mailstat(1) reads it.
 * Trusts nothing in the message it abstracts: control characters in the
 * Subject and the folder name are blanked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "procsort/mail.h"
#include "procsort/plog.h"
#include "procsort/var.h"

#define PLOG_SUBJECT_MAX 78 /* procmail's MAXSUBJECTSHOW */
#define PLOG_TAB 8          /* TABWIDTH */
#define PLOG_SIZE_COLUMN 72 /* TABWIDTH * LENtSTOP: where the size goes */
/* procmail's MAXfoldlen (LENoffset - STRLEN("  Folder: ") - 1) is the size it
 * gives strlcpy, so the folder shown is one character shorter than that */
#define PLOG_FOLDER_MAX (PLOG_SIZE_COLUMN - 10 - 1 - 1)

static int plog_opened;
static time_t plog_last_stamp;

/* plog_raw - write bytes to the log as they are */
void plog_raw(const char *text, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = write(2, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        len -= (size_t) n;
    }
}

/* plog_open - make path the log (LOGFILE=); 0 on success, -1 keeps the old one */
int plog_open(const char *path)
{
    int fd;

    if (!*path)
        path = "/dev/null";
    plog_verbose("Opening \"%s\"", path); /* procmail's opena() */
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY, 0667); /* NORMperm */
    if (fd < 0) {
        plog_error("Error while writing to \"%s\"", path);
        return -1;
    }
    if (fd != 2) {
        dup2(fd, 2);
        close(fd);
    }
    plog_opened = 1;
    return 0;
}

/* plog_close - nothing to flush: every line is written at once */
void plog_close(void)
{
}

/* plog_is_verbose - VERBOSE=on (or -v on the command line) */
int plog_is_verbose(void)
{
    return var_num("VERBOSE") != 0;
}

static void plog_vline(const char *fmt, va_list ap)
{
    struct buf line = BUF_INIT;
    time_t now;

    if (plog_is_verbose() && (now = time(0)) != plog_last_stamp) {
        char tbuf[64];

        plog_last_stamp = now;
        buf_printf(&line, "procsort: [%ld] %s", (long) getpid(), ctime_r(&now, tbuf) ? tbuf : "\n");
    }
    buf_addstr(&line, "procsort: ");
    buf_vprintf(&line, fmt, ap);
    buf_addch(&line, '\n');
    plog_raw(line.data, line.len);
    buf_free(&line);
}

/* plog_error - an error or notice, always logged */
void plog_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    plog_vline(fmt, ap);
    va_end(ap);
}

/* plog_verbose - a diagnostic logged only with VERBOSE on */
void plog_verbose(const char *fmt, ...)
{
    va_list ap;

    if (!plog_is_verbose())
        return;
    va_start(ap, fmt);
    plog_vline(fmt, ap);
    va_end(ap);
}

static void plog_add_blanked(struct buf *out, const char *text, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        char ch = text[i];

        buf_addch(out, strchr("\t\n\v\f\r", ch) && ch ? ' ' : ch);
    }
}

/* plog_abstract - the From_/Subject/Folder lines, when LOGABSTRACT asks */
void plog_abstract(const struct mail *mail, const char *folder, long written)
{
    long abstract = var_num("LOGABSTRACT");
    struct buf out = BUF_INIT;
    const char *p = mail->text.data, *nl;
    size_t hlen = mail->body, pos = 0, k, n, col;

    if (!(abstract > 0 || ((plog_opened || plog_is_verbose()) && abstract)))
        return;
    if (hlen >= 5 && memcmp(p, "From ", 5) == 0) {
        nl = memchr(p, '\n', hlen);
        n = nl ? (size_t) (nl - p) : hlen;
        buf_add(&out, p, n);
        buf_addch(&out, '\n');
        pos = n;
    }
    for (k = pos; k + 8 <= hlen; k++) {
        if ((k == 0 || p[k - 1] == '\n') && strncasecmp(p + k, "Subject:", 8) == 0) {
            nl = memchr(p + k, '\n', hlen - k);
            n = nl ? (size_t) (nl - (p + k)) : hlen - k;
            if (n > PLOG_SUBJECT_MAX)
                n = PLOG_SUBJECT_MAX;
            buf_addch(&out, ' ');
            plog_add_blanked(&out, p + k, n);
            buf_addch(&out, '\n');
            break;
        }
    }
    buf_addstr(&out, "  Folder: ");
    n = strlen(folder);
    if (n > PLOG_FOLDER_MAX)
        n = PLOG_FOLDER_MAX;
    plog_add_blanked(&out, folder, n);
    col = n + 10;
    col -= col % PLOG_TAB;
    do
        buf_addch(&out, '\t');
    while ((col += PLOG_TAB) < PLOG_SIZE_COLUMN);
    buf_printf(&out, "%7ld\n", written);
    plog_raw(out.data, out.len);
    buf_free(&out);
}
