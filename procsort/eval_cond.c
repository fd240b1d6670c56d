/*
 * eval_cond.c - a recipe's conditions, as procmail's conditions() reads
 * and weighs them (procmailrc(5), procmailsc(5)).
 *
 * Each condition line is read left to right, each prefix changing how the
 * rest is taken:
 *
 *   w^x       a weight and exponent: the recipe is scored (procmailsc)
 *   NAME ??   match against $NAME instead; H, B, HB (or BH) name the
 *             header, the body, both
 *   $         the rest is expanded as if in double quotes, then re-read
 *   !         negate
 *   ? cmd     the exit code of cmd, fed the text to match
 *   < n, > n  the size of the text to match (the whole message unless
 *             NAME ?? chose something)
 *   otherwise a regular expression in procmail's dialect (procregex),
 *             with ^TO_, ^TO, ^FROM_DAEMON, ^FROM_MAILER expanded first
 *
 * Headers are matched with continuation lines joined to their field.
 * Trusts nothing in the conditions; scores are clamped to procmail's
 * plus and minus "infinity" (2^31 - 1 and -2^31).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/mem.h"
#include "libmatch/procregex.h"
#include "procsort/eval_int.h"
#include "procsort/plog.h"
#include "procsort/var.h"


/* What a condition is matched against. */
#define REGION_H 0
#define REGION_B 1
#define REGION_HB 2
#define REGION_VAR 3

struct eval_region {
    int which;
    int is_match;         /* REGION_VAR: the variable is MATCH itself */
    const char *text;     /* REGION_VAR: the value */
    size_t len;
    struct buf framed;    /* REGION_VAR: framed here */
};

/* procmail's squeeze(): drop backslash-newline pairs and the blanks after them. */
static void eval_squeeze(struct buf *text)
{
    size_t i, o = 0;
    int state = 0;

    for (i = 0; i < text->len; i++) {
        char ch = text->data[i];

        text->data[o++] = ch;
        switch (ch) {
        case '\n':
            if (state == 1)
                o -= 2;
            state = 2;
            break;
        case '\\':
            state = 1;
            break;
        case ' ':
        case '\t':
            if (state == 2) {
                o--;
                break;
            }
            state = 0;
            break;
        default:
            state = 0;
            break;
        }
    }
    buf_truncate(text, o);
}

/* The framed subject for a region (cached for H, B, HB). */
static const struct buf *eval_framed(struct eval *ev, struct eval_region *rg)
{
    struct buf *f;

    if (rg->which == REGION_VAR) {
        procregex_frame(&rg->framed, rg->text, rg->len);
        return &rg->framed;
    }
    f = &ev->framed[rg->which];
    if (ev->framed_gen[rg->which] != ev->mail_gen || f->len == 0) {
        size_t blen;
        const char *body = mail_body(ev->mail, &blen);

        if (rg->which == REGION_B) {
            procregex_frame(f, body, blen);
        } else {
            mail_joined_header(ev->mail, &ev->joined);
            if (rg->which == REGION_HB)
                buf_add(&ev->joined, body, blen);
            procregex_frame(f, ev->joined.data, ev->joined.len);
        }
        ev->framed_gen[rg->which] = ev->mail_gen;
    }
    return f;
}

/* The bytes a `?` program gets on its stdin for a region. */
static void eval_region_text(struct eval *ev, struct eval_region *rg, const char **text, size_t *len)
{
    const struct buf *f;

    if (rg->which == REGION_VAR) {
        *text = rg->text;
        *len = rg->len;
        return;
    }
    f = eval_framed(ev, rg);
    *text = f->data + 1;
    *len = f->len - 2;
}

/*
 * MATCH gets what \/ matched.  procmail assigns "MATCH=" first (logged
 * with VERBOSE) and then fills it in, except when the text matched is
 * MATCH's own value, which it overwrites in place.
 */
static void eval_set_match(const char *framed, size_t ms, size_t me, const struct eval_region *rg)
{
    struct buf value = BUF_INIT;

    if (me > ms)
        buf_add(&value, framed + 1 + ms, me - ms);
    if (!rg->is_match)
        plog_verbose("Assigning \"MATCH=\"");
    var_set("MATCH", value.data);
    plog_verbose("Matched \"%s\"", value.data);
    buf_free(&value);
}

/*
 * One regular expression condition; returns 1 on a match.  When scoring,
 * adds to *score as procmail does: each further match (searched from the
 * end of the last one) multiplies the weight by the exponent.
 */
static int eval_regex(struct eval *ev, struct buf *re, int caseless, struct eval_region *rg,
                      int scoring, int negate, double *weight, double xponent, double *score)
{
    struct buf err = BUF_INIT;
    struct procregex *rx;
    const struct buf *f;
    size_t end, ms, me, from = 0, text_len;
    int n, matched = 0;

    rx = procregex_compile(re->data, re->len, caseless ? PROCREGEX_CASELESS : 0, &err);
    if (err.len)
        eval_warn(ev, "Invalid regexp \"%s\"", re->data);
    buf_free(&err);
    if (!rx)
        return 0;
    f = eval_framed(ev, rg);
    text_len = f->len - 2;
    if (!scoring) {
        n = procregex_exec(rx, f->data, f->len, 0, &end, &ms, &me, &err);
        if (n < 0)
            eval_warn(ev, "Regular expression gave up: %s", err.data);
        if (n > 0 && procregex_has_split(rx))
            eval_set_match(f->data, ms, me, rg);
        matched = n > 0;
    } else if (negate) {
        n = procregex_exec(rx, f->data, f->len, 0, &end, &ms, &me, &err);
        if (*weight != 0 && n == 0)
            *score += *weight;
        matched = n > 0;
    } else {
        double oweight = *weight * *weight;

        while (*weight != 0 && EVAL_SCORE_MIN < *score && *score < EVAL_SCORE_MAX && from <= text_len) {
            n = procregex_exec(rx, f->data, f->len, from, &end, &ms, &me, &err);
            if (n <= 0)
                break;
            matched = 1;
            if (procregex_has_split(rx))
                eval_set_match(f->data, ms, me, rg);
            *score += *weight;
            *weight *= xponent;
            if (end <= from) { /* an empty match: it would match forever */
                if (0 < xponent && xponent < 1)
                    *score += *weight / (1 - xponent);
                else if (xponent >= 1 && *weight != 0)
                    *score += *weight < 0 ? EVAL_SCORE_MIN : EVAL_SCORE_MAX;
                break;
            }
            {
                volatile double nweight = *weight * *weight;

                if (nweight < oweight && oweight < 1)
                    break;
                oweight = nweight;
            }
            from = end;
        }
    }
    buf_free(&err);
    procregex_free(rx);
    return matched;
}

/*
 * One condition's outcome: the trace shows the line as written; VERBOSE
 * shows, as procmail does, what was left of it once its prefixes were
 * read ("!", weights, "NAME ??"), as it was used: an expression with
 * ^TO_ and friends expanded, a program's name, a size test.
 */
static void eval_cond_log(struct eval *ev, int line, int scoreany, int result, int negate,
                          double score, double lscore, const char *text, const char *shown)
{
    if (scoreany) {
        long delta = (long) (score - lscore), total = (long) score;
        char totalcol[32];

        /* procmail shows a total in (0, 1) as +0 */
        if (total == 0 && score > 0)
            snprintf(totalcol, sizeof(totalcol), "%7s", "+0");
        else
            snprintf(totalcol, sizeof(totalcol), "%7ld", total);
        plog_verbose("Score: %7ld %s%s \"%s\"", delta, totalcol, negate ? " !" : "", shown);
        eval_trace(ev, line, "score %+ld, total %ld%s: * %s", delta, total, negate ? " (negated)" : "", text);
    } else {
        plog_verbose("%s%s \"%s\"", result ? "Match on" : "No match on", negate ? " !" : "", shown);
        eval_trace(ev, line, "%s%s: * %s", result ? "match" : "no match", negate ? " (negated)" : "", text);
    }
}

/* eval_conditions - do a recipe's conditions hold? (flags already expanded) */
int eval_conditions(struct eval *ev, const struct rc_item *item, const int flags_in[RCF_COUNT], int skipping)
{
    int flags[RCF_COUNT];
    double score = 0;
    int scored = 0, i;
    size_t c;
    int base_region;

    memcpy(flags, flags_in, sizeof(flags));
    base_region = flags[RCF_B] ? (flags[RCF_H] ? REGION_HB : REGION_B) : REGION_H;
    i = !skipping;
    if (flags[RCF_e]) {
        i &= ev->prevcond && !ev->lastsucc;
        if (flags[RCF_E]) {
            eval_warn(ev, "Conflicting else-if-flag suppressed");
            flags[RCF_E] = 0;
        }
        if (flags[RCF_a]) {
            eval_warn(ev, "Conflicting also-if-succeeded-flag suppressed");
            flags[RCF_a] = 0;
        }
    }
    if (flags[RCF_E])
        i &= !ev->prevcond;
    if (flags[RCF_a])
        i &= ev->lastcond && ev->lastsucc;
    if (flags[RCF_A])
        i = i && ev->lastcond;
    if (!skipping && i == 0 && (flags[RCF_A] || flags[RCF_a] || flags[RCF_E] || flags[RCF_e]))
        eval_trace(ev, item->line, "not tried: the %s flag's condition does not hold",
                   flags[RCF_E] ? "E" : flags[RCF_e] ? "e" : flags[RCF_a] ? "a" : "A");
    for (c = 0; c < item->nconds && i; c++) {
        const struct rc_cond *cond = &item->conds[c];
        struct buf text = BUF_INIT, orig = BUF_INIT, shown = BUF_INIT;
        struct eval_region rg;
        double weight = 0, xponent = 0, lscore = score;
        int negate = 0, scoreany = 0, skip_cond = 0, backslash = 0;
        size_t sizecheck = ev->mail->text.len;

        ev->item_line = cond->line;
        buf_setstr(&text, cond->text);
        while (text.len > 0 && (text.data[text.len - 1] == ' ' || text.data[text.len - 1] == '\t'))
            buf_truncate(&text, text.len - 1);
        buf_set(&orig, text.data, text.len);
        memset(&rg, 0, sizeof(rg));
        rg.which = base_region;
        buf_init(&rg.framed);
        for (;;) {
            char *p = text.data, *q;
            int ch = (unsigned char) p[0];

            if ((ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.' || ch == ',') {
                double w = strtod(p, &q), x;
                char *r;

                if (q > p) {
                    while (*q == ' ' || *q == '\t')
                        q++;
                    if (*q == '^') {
                        x = strtod(q + 1, &r);
                        if (r > q + 1) {
                            if (score >= EVAL_SCORE_MAX) {
                                skip_cond = 1;
                                break;
                            }
                            xponent = x;
                            weight = w;
                            scored = scoreany = 1;
                            while (*r == ' ' || *r == '\t')
                                r++;
                            memmove(text.data, r, strlen(r) + 1);
                            text.len = strlen(text.data);
                            continue;
                        }
                    }
                }
                goto regex;
            }
            if (ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
                size_t n = 0;

                while (p[n] == '_' || (p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z')
                       || (p[n] >= '0' && p[n] <= '9'))
                    n++;
                q = p + n;
                while (*q == ' ' || *q == '\t')
                    q++;
                if (q[0] == '?' && q[1] == '?') {
                    char name[8];

                    rg.is_match = 0;
                    if (n == 1 && p[0] == 'B') {
                        rg.which = REGION_B;
                    } else if (n == 1 && p[0] == 'H') {
                        rg.which = REGION_H;
                    } else if (n == 2 && (strncmp(p, "HB", 2) == 0 || strncmp(p, "BH", 2) == 0)) {
                        rg.which = REGION_HB;
                    } else {
                        char *vname = mem_strndup(p, n);
                        const char *value = var_get(vname);

                        mem_free(vname);
                        rg.which = REGION_VAR;
                        rg.is_match = n == 5 && strncmp(p, "MATCH", 5) == 0;
                        rg.text = value ? value : "";
                        rg.len = strlen(rg.text);
                    }
                    (void) name;
                    if (rg.which == REGION_VAR) {
                        sizecheck = rg.len;
                    } else {
                        const char *t;
                        size_t tl;

                        eval_region_text(ev, &rg, &t, &tl);
                        sizecheck = tl;
                    }
                    q += 2;
                    while (*q == ' ' || *q == '\t')
                        q++;
                    memmove(text.data, q, strlen(q) + 1);
                    text.len = strlen(text.data);
                    continue;
                }
                goto regex;
            }
            switch (ch) {
            case '\\':
                /* A leading backslash only keeps the next character from
                 * meaning !, $, ?, <, > or a weight: it is not part of the
                 * expression (so "\\<word" looks for "<word"), as in procmail,
                 * which still shows it with VERBOSE. */
                memmove(text.data, text.data + 1, text.len);
                text.len--;
                backslash = 1;
                goto regex;
            case '$': {
                struct rcx_result res;
                struct buf src = BUF_INIT;

                eval_squeeze(&text);
                buf_addch(&src, '"');
                buf_add(&src, text.data + 1, text.len - 1);
                rcx_result_init(&res);
                eval_expand(ev, src.data, src.len, RCX_LINE, &res);
                q = res.out.data;
                while (*q == ' ' || *q == '\t')
                    q++;
                buf_setstr(&text, q);
                rcx_result_free(&res);
                buf_free(&src);
                continue;
            }
            case '!':
                negate ^= 1;
                q = p + 1;
                while (*q == ' ' || *q == '\t')
                    q++;
                memmove(text.data, q, strlen(q) + 1);
                text.len = strlen(text.data);
                continue;
            case '?': {
                struct eval_cmd cmd;
                const char *in;
                size_t inlen;
                int status = 0, failed;

                if (ev->dry_run) {
                    eval_trace(ev, cond->line, "not run (dry run), taken as failing: * %s", orig.data);
                    i = 0;
                    skip_cond = 1;
                    break;
                }
                eval_cmd_init(&cmd);
                eval_cmd_parse(ev, text.data + 1, &cmd);
                buf_setstr(&shown, eval_cmd_name(&cmd));
                eval_region_text(ev, &rg, &in, &inlen);
                if (eval_cmd_run(ev, &cmd, in, inlen, 0, 0, &status, &failed) != 0)
                    status = -1;
                else if (status != 0) /* procmail runs it as with W: reported only with VERBOSE */
                    plog_verbose("Non-zero exitcode (%d) from \"%s\"", status, eval_cmd_name(&cmd));
                eval_cmd_free(&cmd);
                if (scoreany && status >= 0) {
                    int j = status;

                    if (negate) {
                        while (--j >= 0 && (score += weight) < EVAL_SCORE_MAX && score > EVAL_SCORE_MIN)
                            weight *= xponent;
                    } else {
                        score += j ? xponent : weight;
                    }
                } else if ((status != 0) ^ negate) {
                    i = 0;
                }
                break;
            }
            case '<':
            case '>': {
                struct rcx_result res;
                long pivot;
                char *rest;
                int op = ch;

                rcx_result_init(&res);
                eval_expand(ev, text.data, text.len, RCX_LINE, &res);
                buf_setstr(&shown, res.out.data);
                pivot = strtol(res.out.data + 1, &rest, 10);
                while (*rest == ' ' || *rest == '\t')
                    rest++;
                if (*rest)
                    eval_warn(ev, "Skipped \"%s\"", rest);
                rcx_result_free(&res);
                if (scoreany) {
                    double f;

                    if ((op == '<') ^ negate) {
                        if (sizecheck)
                            f = (double) pivot / (double) sizecheck;
                        else if (pivot > 0) {
                            score = EVAL_SCORE_MAX;
                            break;
                        } else {
                            score = EVAL_SCORE_MIN;
                            break;
                        }
                    } else if (pivot) {
                        f = (double) sizecheck / (double) pivot;
                    } else {
                        score = EVAL_SCORE_MAX;
                        break;
                    }
                    score += weight * pow(f, xponent);
                } else if (!((op == '<' ? (long) sizecheck < pivot : (long) sizecheck > pivot) ^ negate)) {
                    i = 0;
                }
                break;
            }
            default:
                goto regex;
            }
            break;
regex:
            {
                int nocase;

                eval_squeeze(&text);
                nocase = procregex_specials(&text);
                buf_setstr(&shown, backslash ? "\\" : "");
                buf_add(&shown, text.data, text.len);
                if (eval_regex(ev, &text, nocase || !flags[RCF_D], &rg, scoreany, negate, &weight, xponent,
                               &score)) {
                    if (!scoreany && negate)
                        i = 0;
                } else if (!scoreany && !negate) {
                    i = 0;
                }
            }
            break;
        }
        if (!skip_cond) {
            if (score > EVAL_SCORE_MAX)
                score = EVAL_SCORE_MAX;
            if (score <= EVAL_SCORE_MIN) {
                score = EVAL_SCORE_MIN;
                i = 0;
            }
            eval_cond_log(ev, cond->line, scoreany, i, negate, score, lscore, orig.data,
                          shown.data ? shown.data : "");
        }
        buf_free(&rg.framed);
        buf_free(&text);
        buf_free(&orig);
        buf_free(&shown);
    }
    for (; c < item->nconds && !skipping; c++)
        eval_trace(ev, item->conds[c].line, "not tried: * %s", item->conds[c].text);
    ev->lastscore = score;
    if (scored && i && score <= 0)
        i = 0;
    return i;
}
