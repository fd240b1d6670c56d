/*
 * cmdline.h - procsort's command line, procmail 3.22's plus -n and --lint.
 *
 *   procsort [-vptoYn] [-f fromwhom] [parameter=value | rcfile]...
 *   procsort [-toYn] [-f fromwhom] [-a argument]... -d recipient...
 *   procsort [-ptYn] [-f fromwhom] -m [parameter=value]... rcfile [arg]...
 *   procsort --lint rcfile...
 *
 * As procmail: options end at the first word not starting with '-' (or
 * at "--"); -f/-r, -a and -d take the rest of their word or the next
 * one; -d makes every following word a recipient; -d turns -p and -m off
 * and -m turns -a off ("Conflicting options"); an unknown option is
 * logged and processing goes on.
 */
#ifndef PROCSORT_CMDLINE_H
#define PROCSORT_CMDLINE_H

struct cmdline {
    int version;        /* -v */
    int help;           /* -h, -? */
    int preserve;       /* -p */
    int tempfail;       /* -t */
    int override;       /* -o */
    int berkeley;       /* -Y, -y */
    int mailfilter;     /* -m */
    int lmtp;           /* -z (not supported, as in Debian's procmail) */
    int dry_run;        /* -n (procsort only) */
    int lint;           /* --lint (procsort only) */
    const char *from;   /* -f, -r */
    char **args;        /* -a values */
    int nargs;
    char **recipients;  /* -d ... */
    int nrecipients;
    char **rest;        /* what follows the options: assignments and rcfiles */
    int nrest;
    int errors;         /* problems reported (processing goes on) */
};

int cmdline_parse(int argc, char **argv, struct cmdline *cl);
void cmdline_free(struct cmdline *cl);

#endif
