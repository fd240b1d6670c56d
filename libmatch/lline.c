/*
 * lline.c - logical lines as Postfix reads its tables and main.cf.
 *
 * Empty lines, white-space-only lines and lines whose first non-blank
 * character is '#' are skipped.  A logical line starts with non-blank text;
 * a physical line that starts with white space continues it, appended as is
 * (leading white space kept, the newline dropped).  A comment or blank line
 * between a line and its continuation does not end the logical line.
 *
 * Continuation text with nothing before it is warned about and skipped, as
 * Postfix does, so that one bad line does not cost the whole file.  A
 * caller that collects problems itself (tables report them in their error
 * text) passes a complain function; without one, they are logged.
 */
#include <ctype.h>
#include <string.h>

#include "libmatch/lline.h"
#include "libmatch/msg.h"

/* lline_blank - a comment, empty or white-space-only physical line */
static int lline_blank(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len && isspace((unsigned char) s[i]))
        i++;
    return i == len || s[i] == '#';
}

/* lline_complain - hand a problem to the caller, or log it */
static void lline_complain(lline_complain_fn complain, void *context, int problem,
                           const char *path, int line, const char *text)
{
    if (complain)
        complain(context, problem, line, text);
    else
        msg_warn("%s, line %d: %s", path, line, text);
}

/*
 * lline_read - read one logical line into line.  Returns 1 when one was
 * read, 0 at the end of input.  *lineno counts physical lines read so far;
 * *first_line is set to the number of the line the logical line starts on.
 * Problems go to complain(context, ...), or to the log when it is NULL.
 */
int lline_read(FILE *fp, const char *path, struct buf *line, int *lineno, int *first_line,
               lline_complain_fn complain, void *context)
{
    int ch = 0;
    int got_nul;
    size_t start;

    for (;;) {
        buf_reset(line);
        got_nul = 0;
        for (;;) {
            /* Read one physical line, possibly without a newline. */
            start = line->len;
            while ((ch = getc(fp)) != EOF && ch != '\n') {
                buf_addch(line, ch);
                if (ch == 0)
                    got_nul = 1;
            }
            if (ch == '\n' || line->len > start)
                *lineno += 1;
            if (lline_blank(line->data + start, line->len - start))
                buf_truncate(line, start);
            if (start == 0)
                *first_line = *lineno;
            if (ch == EOF)
                break;
            /* Stop at the start of the next logical line. */
            if (line->len > 0) {
                int next = getc(fp);

                if (next != EOF)
                    ungetc(next, fp);
                if (next != '#' && !isspace(next))
                    break;
            }
        }
        if (got_nul)
            lline_complain(complain, context, LLINE_NUL_BYTE, path, *first_line,
                           "text after null byte may be ignored");
        if (line->len > 0 && isspace((unsigned char) line->data[0])) {
            lline_complain(complain, context, LLINE_LEADING_SPACE, path, *first_line,
                           "logical line must not start with white space");
            if (ch == EOF)
                return 0;
            continue;
        }
        return line->len > 0;
    }
}
