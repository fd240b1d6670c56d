/*
 * testmilter.c - a scripted milter for mailsift's milter client tests.
 *
 *   testmilter -p unix:/path|inet:PORT@127.0.0.1 -s SCRIPT [-l LOG]      (libmilter)
 *   testmilter -r -p unix:/path|inet:PORT@127.0.0.1 -s SCRIPT [-l LOG]   (raw)
 *
 * libmilter mode is a real libmilter filter.  The script says what to do;
 * one directive per line, '#' starts a comment, words may be "quoted" and
 * both forms take \n \r \t \0 \\ \xHH escapes:
 *
 *   flags NR_HDR SKIP HDR_LEADSPC NOCONNECT ...   protocol steps to ask for
 *   actions ADDHDRS CHGHDRS ...                   actions to ask for (default: all offered)
 *   symlist STAGE "macro names"                   smfi_setsymlist (connect helo mail rcpt data eom eoh)
 *   STAGE[:MATCH] ACTION [ARGS]
 *
 * STAGE is connect helo mail rcpt data header eoh body eom unknown; MATCH a
 * substring of the stage's argument (client address, HELO name, address,
 * "Name: value", body chunk, command; at eom the MAIL FROM arguments).  Every matching line runs in order:
 * edits and side effects at once, the last verdict wins (default continue):
 *
 *   verdicts   continue accept reject tempfail discard skip noreply
 *              reply CODE XCODE TEXT        mlreply CODE XCODE LINE...
 *   eom edits  addheader NAME VALUE   insheader IDX NAME VALUE   chgheader NAME IDX [VALUE]
 *              addrcpt ADDR   addrcpt_par ADDR ARGS   delrcpt ADDR   chgfrom ADDR [ARGS]
 *              replbody TEXT   replbody_repeat TIMES TEXT   quarantine REASON   progress
 *   behaviour  hang SECONDS   die (exit the whole milter)   crash (abort)
 *
 * The log (-l) gets one line per event, "cN stage details", and one line of
 * the macros the event can see, "cN macros stage: name=value ...".
 *
 * Raw mode (-r) speaks the wire protocol by hand, to break it: each script
 * line is "CMD ACTION ARGS" where CMD is the command letter mta-core sends
 * (O C H M R T L N B E U A Q) or '*', and ACTION one of
 *   optneg VERSION ACTIONS PROTOCOL [STAGE "macros"]...   an OPTNEG reply (numbers in C syntax)
 *   packet CODE [DATA]    a framed reply packet        raw BYTES   bytes as they are
 *   close   hang   die
 * Commands without a line get the usual answer (OPTNEG: version 6, all
 * actions; events: 'c'; MACRO, ABORT: nothing; QUIT: close).
 *
 * This is test code: it trusts its script, not its peer.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#define MAX_ARGS 16
#define MAX_RULES 256

struct rule {
    char stage[16];
    char *match;
    char *action;
    char *arg[MAX_ARGS];
    size_t arglen[MAX_ARGS];
    int nargs;
};

static struct rule rules[MAX_RULES];
static int nrules;
static unsigned long want_flags;
static unsigned long want_actions;
static int have_actions;
static char *symlists[8];
static FILE *logfp;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
static int next_id;

static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "testmilter: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static void logf_line(const char *fmt, ...)
{
    va_list ap;

    if (logfp == NULL)
        return;
    pthread_mutex_lock(&log_lock);
    va_start(ap, fmt);
    vfprintf(logfp, fmt, ap);
    va_end(ap);
    fputc('\n', logfp);
    fflush(logfp);
    pthread_mutex_unlock(&log_lock);
}

/* escape - bytes made printable for the log (static buffer per thread) */
static const char *escape(const char *s, size_t len)
{
    static __thread char out[4096];
    size_t i, o = 0;

    for (i = 0; i < len && o + 5 < sizeof(out); i++) {
        unsigned char c = (unsigned char) s[i];

        if (c == '\n') { out[o++] = '\\'; out[o++] = 'n'; }
        else if (c == '\r') { out[o++] = '\\'; out[o++] = 'r'; }
        else if (c == '\t') { out[o++] = '\\'; out[o++] = 't'; }
        else if (c == '\\') { out[o++] = '\\'; out[o++] = '\\'; }
        else if (c < 0x20 || c >= 0x7f) o += (size_t) sprintf(out + o, "\\x%02x", c);
        else out[o++] = (char) c;
    }
    out[o] = 0;
    return out;
}

/* unescape - a script word's escapes, in place; returns the length */
static size_t unescape(char *s)
{
    char *r = s, *w = s;

    while (*r) {
        if (*r != '\\' || r[1] == 0) {
            *w++ = *r++;
            continue;
        }
        r++;
        switch (*r) {
        case 'n': *w++ = '\n'; r++; break;
        case 'r': *w++ = '\r'; r++; break;
        case 't': *w++ = '\t'; r++; break;
        case '0': *w++ = '\0'; r++; break;
        case 'x': {
            char hex[3] = { r[1], r[1] ? r[2] : 0, 0 };

            *w++ = (char) strtol(hex, NULL, 16);
            r += 1 + strlen(hex);
            break;
        }
        default: *w++ = *r++; break;
        }
    }
    *w = 0;
    return (size_t) (w - s);
}

/* split - words of a script line: plain or "quoted" */
static int split(char *line, char **words, size_t *lens, int max)
{
    int n = 0;
    char *p = line;

    while (n < max) {
        char *start;

        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == 0 || *p == '#')
            break;
        if (*p == '"') {
            start = ++p;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
        } else {
            start = p;
            while (*p && *p != ' ' && *p != '\t')
                p++;
        }
        if (*p)
            *p++ = 0;
        words[n] = start;
        lens[n] = unescape(start);
        n++;
    }
    return n;
}

static const struct { const char *name; unsigned long bit; } flag_names[] = {
    { "NOCONNECT", SMFIP_NOCONNECT }, { "NOHELO", SMFIP_NOHELO }, { "NOMAIL", SMFIP_NOMAIL },
    { "NORCPT", SMFIP_NORCPT }, { "NOBODY", SMFIP_NOBODY }, { "NOHDRS", SMFIP_NOHDRS },
    { "NOEOH", SMFIP_NOEOH }, { "NR_HDR", SMFIP_NR_HDR }, { "NOUNKNOWN", SMFIP_NOUNKNOWN },
    { "NODATA", SMFIP_NODATA }, { "SKIP", SMFIP_SKIP }, { "RCPT_REJ", SMFIP_RCPT_REJ },
    { "NR_CONN", SMFIP_NR_CONN }, { "NR_HELO", SMFIP_NR_HELO }, { "NR_MAIL", SMFIP_NR_MAIL },
    { "NR_RCPT", SMFIP_NR_RCPT }, { "NR_DATA", SMFIP_NR_DATA }, { "NR_UNKN", SMFIP_NR_UNKN },
    { "NR_EOH", SMFIP_NR_EOH }, { "NR_BODY", SMFIP_NR_BODY }, { "HDR_LEADSPC", SMFIP_HDR_LEADSPC },
    { NULL, 0 }
};

static const struct { const char *name; unsigned long bit; } action_names[] = {
    { "ADDHDRS", SMFIF_ADDHDRS }, { "CHGBODY", SMFIF_CHGBODY }, { "ADDRCPT", SMFIF_ADDRCPT },
    { "DELRCPT", SMFIF_DELRCPT }, { "CHGHDRS", SMFIF_CHGHDRS }, { "QUARANTINE", SMFIF_QUARANTINE },
    { "CHGFROM", SMFIF_CHGFROM }, { "ADDRCPT_PAR", SMFIF_ADDRCPT_PAR },
    { "SETSYMLIST", SMFIF_SETSYMLIST }, { NULL, 0 }
};

static const char *stage_names[] = { "connect", "helo", "mail", "rcpt", "data", "eom", "eoh" };

static int stage_number(const char *s)
{
    int i;

    for (i = 0; i < 7; i++)
        if (strcmp(s, stage_names[i]) == 0)
            return i;
    die("unknown macro stage %s", s);
    return -1;
}

static void read_script(const char *path)
{
    FILE *fp = fopen(path, "r");
    char line[8192];

    if (fp == NULL)
        die("cannot open %s: %s", path, strerror(errno));
    while (fgets(line, sizeof(line), fp)) {
        char *w[MAX_ARGS + 3];
        size_t l[MAX_ARGS + 3];
        int n, i, j;

        line[strcspn(line, "\n")] = 0;
        n = split(line, w, l, MAX_ARGS + 3);
        if (n == 0)
            continue;
        if (strcmp(w[0], "flags") == 0 || strcmp(w[0], "actions") == 0) {
            int is_flags = (w[0][0] == 'f');

            if (!is_flags)
                have_actions = 1;
            for (i = 1; i < n; i++) {
                unsigned long bit = 0;

                if (is_flags) {
                    for (j = 0; flag_names[j].name; j++)
                        if (strcmp(w[i], flag_names[j].name) == 0)
                            bit = flag_names[j].bit;
                } else {
                    for (j = 0; action_names[j].name; j++)
                        if (strcmp(w[i], action_names[j].name) == 0)
                            bit = action_names[j].bit;
                }
                if (bit == 0)
                    die("%s: unknown name %s", path, w[i]);
                if (is_flags)
                    want_flags |= bit;
                else
                    want_actions |= bit;
            }
            continue;
        }
        if (strcmp(w[0], "symlist") == 0) {
            if (n != 3)
                die("%s: symlist STAGE \"names\"", path);
            symlists[stage_number(w[1])] = strdup(w[2]);
            continue;
        }
        if (nrules == MAX_RULES || n < 2)
            die("%s: bad line or too many rules", path);
        {
            struct rule *r = &rules[nrules++];
            char *colon = strchr(w[0], ':');

            if (colon) {
                *colon = 0;
                r->match = strdup(colon + 1);
            }
            snprintf(r->stage, sizeof(r->stage), "%s", w[0]);
            r->action = strdup(w[1]);
            for (i = 2; i < n; i++) {
                r->arg[r->nargs] = malloc(l[i] + 1);
                memcpy(r->arg[r->nargs], w[i], l[i] + 1);
                r->arglen[r->nargs] = l[i];
                r->nargs++;
            }
        }
    }
    fclose(fp);
}

/* ---------------------------------------------------------------- libmilter mode */

struct conn {
    int id;
    char mail[1024]; /* the MAIL FROM arguments: what eom:MATCH looks at */
};

static int conn_id(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c == NULL) {
        c = calloc(1, sizeof(*c));
        pthread_mutex_lock(&id_lock);
        c->id = ++next_id;
        pthread_mutex_unlock(&id_lock);
        smfi_setpriv(ctx, c);
    }
    return c->id;
}

static void log_macros(SMFICTX *ctx, const char *stage)
{
    static const char *names[] = {
        "j", "_", "{daemon_name}", "{daemon_addr}", "v", "{if_addr}", "{client_addr}",
        "{client_name}", "{client_port}", "{client_ptr}", "i", "{auth_type}", "{auth_authen}",
        "{auth_author}", "{mail_addr}", "{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}",
        "{tls_version}", "{cipher}", "{cipher_bits}", "{my_macro}", NULL
    };
    char line[4096];
    size_t o = 0;
    int i;

    line[0] = 0;
    for (i = 0; names[i]; i++) {
        char *v = smfi_getsymval(ctx, (char *) names[i]);

        if (v != NULL && o + 10 < sizeof(line))
            o += (size_t) snprintf(line + o, sizeof(line) - o, " %s=%s", names[i],
                                   escape(v, strlen(v)));
    }
    logf_line("c%d macros %s:%s", conn_id(ctx), stage, line);
}

/* run - carry out the script's lines for a stage; the verdict */
static sfsistat run(SMFICTX *ctx, const char *stage, const char *arg, size_t arglen,
                    unsigned long nr_flag)
{
    sfsistat verdict = (want_flags & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
    int i;

    for (i = 0; i < nrules; i++) {
        struct rule *r = &rules[i];
        const char *a = r->action;

        if (strcmp(r->stage, stage) != 0)
            continue;
        if (r->match && (arg == NULL || memmem(arg, arglen, r->match, strlen(r->match)) == NULL))
            continue;
        if (strcmp(a, "continue") == 0)
            verdict = SMFIS_CONTINUE;
        else if (strcmp(a, "accept") == 0)
            verdict = SMFIS_ACCEPT;
        else if (strcmp(a, "reject") == 0)
            verdict = SMFIS_REJECT;
        else if (strcmp(a, "tempfail") == 0)
            verdict = SMFIS_TEMPFAIL;
        else if (strcmp(a, "discard") == 0)
            verdict = SMFIS_DISCARD;
        else if (strcmp(a, "skip") == 0)
            verdict = SMFIS_SKIP;
        else if (strcmp(a, "noreply") == 0)
            verdict = SMFIS_NOREPLY;
        else if (strcmp(a, "reply") == 0 && r->nargs >= 3) {
            if (smfi_setreply(ctx, r->arg[0], r->arg[1], r->arg[2]) != MI_SUCCESS)
                logf_line("c%d error smfi_setreply", conn_id(ctx));
            verdict = r->arg[0][0] == '4' ? SMFIS_TEMPFAIL : SMFIS_REJECT;
        } else if (strcmp(a, "mlreply") == 0 && r->nargs >= 3) {
            char *l[12] = { 0 };
            int j;

            for (j = 2; j < r->nargs && j - 2 < 10; j++)
                l[j - 2] = r->arg[j];
            if (smfi_setmlreply(ctx, r->arg[0], r->arg[1], l[0], l[1], l[2], l[3], l[4], l[5],
                                l[6], l[7], l[8], l[9], (char *) NULL) != MI_SUCCESS)
                logf_line("c%d error smfi_setmlreply", conn_id(ctx));
            verdict = r->arg[0][0] == '4' ? SMFIS_TEMPFAIL : SMFIS_REJECT;
        } else if (strcmp(a, "addheader") == 0 && r->nargs >= 2)
            smfi_addheader(ctx, r->arg[0], r->arg[1]);
        else if (strcmp(a, "insheader") == 0 && r->nargs >= 3)
            smfi_insheader(ctx, atoi(r->arg[0]), r->arg[1], r->arg[2]);
        else if (strcmp(a, "chgheader") == 0 && r->nargs >= 2)
            smfi_chgheader(ctx, r->arg[0], atoi(r->arg[1]), r->nargs >= 3 ? r->arg[2] : NULL);
        else if (strcmp(a, "addrcpt") == 0 && r->nargs >= 1)
            smfi_addrcpt(ctx, r->arg[0]);
        else if (strcmp(a, "addrcpt_par") == 0 && r->nargs >= 2)
            smfi_addrcpt_par(ctx, r->arg[0], r->arg[1]);
        else if (strcmp(a, "delrcpt") == 0 && r->nargs >= 1)
            smfi_delrcpt(ctx, r->arg[0]);
        else if (strcmp(a, "chgfrom") == 0 && r->nargs >= 1)
            smfi_chgfrom(ctx, r->arg[0], r->nargs >= 2 ? r->arg[1] : NULL);
        else if (strcmp(a, "replbody") == 0 && r->nargs >= 1)
            smfi_replacebody(ctx, (unsigned char *) r->arg[0], (int) r->arglen[0]);
        else if (strcmp(a, "replbody_repeat") == 0 && r->nargs >= 2) {
            int times = atoi(r->arg[0]), j;
            size_t len = r->arglen[1] * (size_t) times;
            unsigned char *big = malloc(len ? len : 1);

            for (j = 0; j < times; j++)
                memcpy(big + (size_t) j * r->arglen[1], r->arg[1], r->arglen[1]);
            smfi_replacebody(ctx, big, (int) len);
            free(big);
        } else if (strcmp(a, "quarantine") == 0 && r->nargs >= 1)
            smfi_quarantine(ctx, r->arg[0]);
        else if (strcmp(a, "progress") == 0)
            smfi_progress(ctx);
        else if (strcmp(a, "hang") == 0 && r->nargs >= 1) {
            logf_line("c%d hang %s", conn_id(ctx), r->arg[0]);
            sleep((unsigned) atoi(r->arg[0]));
        } else if (strcmp(a, "die") == 0) {
            logf_line("c%d die", conn_id(ctx));
            _exit(1);
        } else if (strcmp(a, "crash") == 0) {
            logf_line("c%d crash", conn_id(ctx));
            abort();
        } else
            die("bad action %s at stage %s", a, stage);
    }
    return verdict;
}

static sfsistat t_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                            unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                            unsigned long *pf2, unsigned long *pf3)
{
    int i;

    (void) f2;
    (void) f3;
    *pf0 = have_actions ? (want_actions & f0) : f0;
    *pf1 = want_flags & f1;
    *pf2 = 0;
    *pf3 = 0;
    logf_line("c%d negotiate actions=0x%lx protocol=0x%lx", conn_id(ctx), f0, f1);
    for (i = 0; i < 7; i++)
        if (symlists[i] && smfi_setsymlist(ctx, i, symlists[i]) != MI_SUCCESS)
            logf_line("c%d error smfi_setsymlist", conn_id(ctx));
    return SMFIS_CONTINUE;
}

static sfsistat t_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
    char addr[128] = "-";
    int port = 0;
    char fam = 'U';

    if (sa && sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *) sa;

        inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
        port = ntohs(in->sin_port);
        fam = '4';
    } else if (sa && sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) sa;

        inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
        port = ntohs(in6->sin6_port);
        fam = '6';
    } else if (sa && sa->sa_family == AF_UNIX) {
        snprintf(addr, sizeof(addr), "%s", ((struct sockaddr_un *) sa)->sun_path);
        fam = 'L';
    }
    logf_line("c%d connect host=%s family=%c addr=%s port=%d", conn_id(ctx), host, fam, addr, port);
    log_macros(ctx, "connect");
    return run(ctx, "connect", addr, strlen(addr), SMFIP_NR_CONN);
}

static sfsistat t_helo(SMFICTX *ctx, char *helo)
{
    logf_line("c%d helo %s", conn_id(ctx), helo);
    log_macros(ctx, "helo");
    return run(ctx, "helo", helo, strlen(helo), SMFIP_NR_HELO);
}

static void join_args(char **argv, char *out, size_t size)
{
    size_t o = 0;

    out[0] = 0;
    for (; *argv && o + 2 < size; argv++)
        o += (size_t) snprintf(out + o, size - o, "%s%s", o ? " " : "", *argv);
}

static sfsistat t_envfrom(SMFICTX *ctx, char **argv)
{
    char args[2048];

    join_args(argv, args, sizeof(args));
    conn_id(ctx);
    {
        struct conn *c = smfi_getpriv(ctx);
        size_t n = strlen(args) < sizeof(c->mail) - 1 ? strlen(args) : sizeof(c->mail) - 1;

        memcpy(c->mail, args, n);
        c->mail[n] = 0;
    }
    logf_line("c%d mail %s", conn_id(ctx), args);
    log_macros(ctx, "mail");
    return run(ctx, "mail", args, strlen(args), SMFIP_NR_MAIL);
}

static sfsistat t_envrcpt(SMFICTX *ctx, char **argv)
{
    char args[2048];

    join_args(argv, args, sizeof(args));
    logf_line("c%d rcpt %s", conn_id(ctx), args);
    log_macros(ctx, "rcpt");
    return run(ctx, "rcpt", args, strlen(args), SMFIP_NR_RCPT);
}

static sfsistat t_data(SMFICTX *ctx)
{
    logf_line("c%d data", conn_id(ctx));
    log_macros(ctx, "data");
    return run(ctx, "data", "", 0, SMFIP_NR_DATA);
}

static sfsistat t_header(SMFICTX *ctx, char *name, char *value)
{
    char both[8192];

    logf_line("c%d header %s=[%s]", conn_id(ctx), name, escape(value, strlen(value)));
    snprintf(both, sizeof(both), "%s: %s", name, value);
    return run(ctx, "header", both, strlen(both), SMFIP_NR_HDR);
}

static sfsistat t_eoh(SMFICTX *ctx)
{
    logf_line("c%d eoh", conn_id(ctx));
    log_macros(ctx, "eoh");
    return run(ctx, "eoh", "", 0, SMFIP_NR_EOH);
}

static sfsistat t_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
    logf_line("c%d body %zu [%s]", conn_id(ctx), len,
              escape((const char *) data, len > 300 ? 300 : len));
    return run(ctx, "body", (const char *) data, len, SMFIP_NR_BODY);
}

static sfsistat t_eom(SMFICTX *ctx)
{
    const char *mail;

    logf_line("c%d eom", conn_id(ctx));
    log_macros(ctx, "eom");
    mail = ((struct conn *) smfi_getpriv(ctx))->mail;
    return run(ctx, "eom", mail, strlen(mail), 0);
}

static sfsistat t_abort(SMFICTX *ctx)
{
    logf_line("c%d abort", conn_id(ctx));
    return SMFIS_CONTINUE;
}

static sfsistat t_close(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c) {
        logf_line("c%d close", c->id);
        free(c);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

static sfsistat t_unknown(SMFICTX *ctx, const char *cmd)
{
    logf_line("c%d unknown %s", conn_id(ctx), cmd);
    return run(ctx, "unknown", cmd, strlen(cmd), SMFIP_NR_UNKN);
}

static int milter_main(const char *sock)
{
    struct smfiDesc desc;

    memset(&desc, 0, sizeof(desc));
    desc.xxfi_name = "testmilter";
    desc.xxfi_version = SMFI_VERSION;
    desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT
                      | SMFIF_ADDRCPT_PAR | SMFIF_DELRCPT | SMFIF_QUARANTINE | SMFIF_CHGFROM
                      | SMFIF_SETSYMLIST;
    desc.xxfi_connect = t_connect;
    desc.xxfi_helo = t_helo;
    desc.xxfi_envfrom = t_envfrom;
    desc.xxfi_envrcpt = t_envrcpt;
    desc.xxfi_header = t_header;
    desc.xxfi_eoh = t_eoh;
    desc.xxfi_body = t_body;
    desc.xxfi_eom = t_eom;
    desc.xxfi_abort = t_abort;
    desc.xxfi_close = t_close;
    desc.xxfi_unknown = t_unknown;
    desc.xxfi_data = t_data;
    desc.xxfi_negotiate = t_negotiate;
    if (smfi_register(desc) != MI_SUCCESS)
        die("smfi_register failed");
    if (smfi_setconn((char *) sock) != MI_SUCCESS)
        die("smfi_setconn %s failed", sock);
    if (smfi_opensocket(1) != MI_SUCCESS)
        die("smfi_opensocket %s failed", sock);
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}

/* ---------------------------------------------------------------- raw mode */

static int read_full(int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len > 0) {
        ssize_t r = read(fd, p, len);

        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t) r;
    }
    return 0;
}

static void write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

        if (w <= 0)
            return;
        p += w;
        len -= (size_t) w;
    }
}

static void put_u32(unsigned char *p, unsigned long v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}

static unsigned long get_u32(const unsigned char *p)
{
    return (unsigned long) p[0] << 24 | (unsigned long) p[1] << 16 | (unsigned long) p[2] << 8 | p[3];
}

static void send_packet(int fd, int code, const char *data, size_t len)
{
    unsigned char hdr[5];

    put_u32(hdr, len + 1);
    hdr[4] = (unsigned char) code;
    write_full(fd, hdr, 5);
    write_full(fd, data, len);
}

static void send_optneg(int fd, const struct rule *r)
{
    unsigned char buf[8192];
    size_t o = 12;
    int i;

    put_u32(buf, r ? strtoul(r->arg[0], NULL, 0) : 6);
    put_u32(buf + 4, r ? strtoul(r->arg[1], NULL, 0) : 0x1ff);
    put_u32(buf + 8, r ? strtoul(r->arg[2], NULL, 0) : 0);
    for (i = 3; r && i + 1 < r->nargs && o + 4 + r->arglen[i + 1] + 1 < sizeof(buf); i += 2) {
        put_u32(buf + o, strtoul(r->arg[i], NULL, 0));
        memcpy(buf + o + 4, r->arg[i + 1], r->arglen[i + 1] + 1);
        o += 4 + r->arglen[i + 1] + 1;
    }
    send_packet(fd, 'O', (const char *) buf, o);
}

/* raw_conn - one connection, answered from the script */
static void *raw_conn(void *arg)
{
    int fd = (int) (long) arg;
    int id;
    unsigned char hdr[4];

    pthread_mutex_lock(&id_lock);
    id = ++next_id;
    pthread_mutex_unlock(&id_lock);
    for (;;) {
        unsigned long len;
        char *data;
        int cmd, i, handled = 0;

        if (read_full(fd, hdr, 4) < 0)
            break;
        len = (unsigned long) hdr[0] << 24 | (unsigned long) hdr[1] << 16
              | (unsigned long) hdr[2] << 8 | hdr[3];
        if (len < 1 || len > 16 * 1024 * 1024)
            break;
        data = malloc(len);
        if (read_full(fd, data, len) < 0) {
            free(data);
            break;
        }
        cmd = data[0];
        if (cmd == 'O' && len >= 13)
            logf_line("c%d raw O version=%lu actions=0x%lx protocol=0x%lx", id,
                      (unsigned long) get_u32((unsigned char *) data + 1),
                      (unsigned long) get_u32((unsigned char *) data + 5),
                      (unsigned long) get_u32((unsigned char *) data + 9));
        else
            logf_line("c%d raw %c %lu", id, cmd, len - 1);
        for (i = 0; i < nrules; i++) {
            struct rule *r = &rules[i];

            if (!(r->stage[0] == '*' || (r->stage[0] == cmd && r->stage[1] == 0)))
                continue;
            if (r->stage[0] == '*' && (cmd == 'D' || cmd == 'A' || cmd == 'O' || cmd == 'Q'))
                continue;
            handled = 1;
            if (strcmp(r->action, "optneg") == 0 && r->nargs >= 3)
                send_optneg(fd, r);
            else if (strcmp(r->action, "packet") == 0 && r->nargs >= 1)
                send_packet(fd, r->arg[0][0], r->nargs >= 2 ? r->arg[1] : "",
                            r->nargs >= 2 ? r->arglen[1] : 0);
            else if (strcmp(r->action, "raw") == 0 && r->nargs >= 1)
                write_full(fd, r->arg[0], r->arglen[0]);
            else if (strcmp(r->action, "close") == 0) {
                free(data);
                goto done;
            } else if (strcmp(r->action, "hang") == 0) {
                logf_line("c%d hang", id);
                sleep(3600);
            } else if (strcmp(r->action, "die") == 0) {
                logf_line("c%d die", id);
                _exit(1);
            } else
                die("raw mode: bad action %s", r->action);
        }
        if (!handled) {
            if (cmd == 'O')
                send_optneg(fd, NULL);
            else if (cmd == 'Q') {
                free(data);
                break;
            } else if (cmd != 'D' && cmd != 'A')
                send_packet(fd, 'c', "", 0);
        }
        free(data);
    }
done:
    logf_line("c%d close", id);
    close(fd);
    return NULL;
}

static int raw_main(const char *sock)
{
    int lfd;

    if (strncmp(sock, "unix:", 5) == 0 || strncmp(sock, "local:", 6) == 0) {
        struct sockaddr_un sun;
        const char *path = strchr(sock, ':') + 1;

        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
        unlink(path);
        lfd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sun, sizeof(sun)) < 0)
            die("bind %s: %s", path, strerror(errno));
    } else if (strncmp(sock, "inet:", 5) == 0) {
        struct sockaddr_in in;
        int one = 1;

        memset(&in, 0, sizeof(in));
        in.sin_family = AF_INET;
        in.sin_port = htons((unsigned short) atoi(sock + 5));
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        lfd = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &in, sizeof(in)) < 0)
            die("bind %s: %s", sock, strerror(errno));
    } else {
        die("raw mode: bad socket %s", sock);
        return 2;
    }
    if (listen(lfd, 64) < 0)
        die("listen: %s", strerror(errno));
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        pthread_t t;

        if (fd < 0) {
            if (errno == EINTR)
                continue;
            die("accept: %s", strerror(errno));
        }
        if (pthread_create(&t, NULL, raw_conn, (void *) (long) fd) != 0)
            die("pthread_create failed");
        pthread_detach(t);
    }
}

int main(int argc, char **argv)
{
    const char *sock = NULL, *script = NULL, *log = NULL;
    int raw = 0, ch;

    while ((ch = getopt(argc, argv, "p:s:l:r")) != -1) {
        switch (ch) {
        case 'p': sock = optarg; break;
        case 's': script = optarg; break;
        case 'l': log = optarg; break;
        case 'r': raw = 1; break;
        default: die("usage: testmilter [-r] -p socket -s script [-l log]");
        }
    }
    if (sock == NULL || script == NULL)
        die("usage: testmilter [-r] -p socket -s script [-l log]");
    read_script(script);
    if (log && (logfp = fopen(log, "a")) == NULL)
        die("cannot open %s: %s", log, strerror(errno));
    signal(SIGPIPE, SIG_IGN);
    return raw ? raw_main(sock) : milter_main(sock);
}
