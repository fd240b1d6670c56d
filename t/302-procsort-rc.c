/*
 * 302-procsort-rc.c - procsort's procmailrc reader: every construct the
 * parser knows (assignments, unsets, recipes with flags, lockfiles, old
 * ":N" conditions, continuation lines, comments among conditions, every
 * action kind, nested blocks, captures) and every error it reports, each
 * at its line; then rcx's word rules (quotes, escapes, every $ form,
 * backquotes, "$@", splitting) with a fake environment.
 */
#include <stdlib.h>
#include <string.h>

#include "libmatch/buf.h"
#include "procsort/rc.h"
#include "procsort/rcx.h"
#include "t/lib/tap.h"

static const char *fake_lookup(void *ctx, const char *name)
{
    (void) ctx;
    if (!strcmp(name, "A"))
        return "alpha";
    if (!strcmp(name, "W"))
        return "two  words";
    if (!strcmp(name, "E"))
        return "";
    if (!strcmp(name, "R"))
        return "a.b*c";
    if (!strcmp(name, "1"))
        return "arg1";
    return 0;
}

static void fake_special(void *ctx, int which, struct buf *out)
{
    (void) ctx;
    buf_printf(out, "<%c>", which);
}

static void fake_backquote(void *ctx, const char *cmd, struct buf *out)
{
    (void) ctx;
    buf_printf(out, "ran[%s]\n\n", cmd);
}

static int warned;

static void fake_warn(void *ctx, const char *text)
{
    (void) ctx;
    (void) text;
    warned++;
}

static const struct rcx_env env = { 0, fake_lookup, fake_special, fake_backquote, fake_warn };

/* Expand text; words are shown joined by '|'. */
static void expand_is(const char *text, int mode, const char *want, const char *what)
{
    struct rcsrc src = { text, strlen(text), 0 };
    struct rcx_result res;
    struct buf shown = BUF_INIT;
    size_t i;

    rcx_result_init(&res);
    rcx_parse(&src, mode, &env, &res);
    for (i = 0; i < res.out.len; i++)
        buf_addch(&shown, res.out.data[i] ? res.out.data[i] : '|');
    is_string(shown.data, want, "%s", what);
    buf_free(&shown);
    rcx_result_free(&res);
}

static struct rc_file *parse(const char *text)
{
    return rc_parse("test.rc", text, strlen(text));
}

int main(void)
{
    struct rc_file *rc;
    const struct rc_item *it;

    /* assignments and unsets */
    rc = parse("# comment\n\nA=1\n  B = \"x y\" \nC\nD=a b\n");
    is_int(rc->nitems, 5, "A=1, B=..., C, D=a, b: five items");
    is_int(rc->items[0].kind, RC_ASSIGN, "A=1 is an assignment");
    is_int(rc->items[0].line, 3, "at line 3");
    is_string(rc->items[1].name, "B", "blanks around = are fine");
    is_int(rc->items[2].kind, RC_UNSET, "a lone name unsets");
    is_string(rc->items[4].name, "b", "A=a b also unsets b, as procmail reads it");
    is_int(rc->items[4].kind, RC_UNSET, "...an unset");
    rc_free(rc);

    /* a full recipe */
    rc = parse(":0 HBDc: lockname\n* ^Subject: a\\\n   b\n# comment\n\n* ! B ?? x\nfolder1 folder2\n");
    is_int(rc->nitems, 1, "one recipe");
    it = &rc->items[0];
    is_int(it->kind, RC_RECIPE, "recipe");
    ok(it->default_flags[RCF_H] && it->default_flags[RCF_B] && it->default_flags[RCF_D] && it->default_flags[RCF_c],
       "flags H B D c");
    is_int(it->nconds, 2, "two conditions, comment and empty line skipped");
    is_string(it->conds[0].text, "^Subject: a\\\n   b", "continuation kept raw (backslash and newline)");
    is_int(it->conds[1].line, 6, "second condition at line 6");
    is_int(it->action, RCA_FOLDER, "folder action");
    is_int(it->action_line, 7, "action at line 7");
    rc_free(rc);

    /* head flags with a lockfile and leftovers */
    {
        int flags[RCF_COUNT], nrcond, has_lock;
        struct buf lock = BUF_INIT, left = BUF_INIT;

        rc_head_flags("0Bfw\0:\0my.lock", 15, flags, &nrcond, &has_lock, &lock, &left);
        ok(nrcond == 0 && flags[RCF_B] && flags[RCF_f] && flags[RCF_w], "0Bfw");
        ok(has_lock && !strcmp(lock.data, "my.lock"), "lockfile in the next word: %s", lock.data);
        rc_head_flags("2Hx:y", 6, flags, &nrcond, &has_lock, &lock, &left);
        ok(nrcond == 2 && flags[RCF_H] && !has_lock, ":2H");
        is_string(left.data, "x:y", "unknown flag: the rest is skipped");
        rc_head_flags(":", 2, flags, &nrcond, &has_lock, &lock, &left);
        is_int(nrcond, -1, "no number: -1");
        buf_free(&lock);
        buf_free(&left);
    }

    /* every action kind */
    rc = parse(":0\n! a@b c@d\n:0\n| cmd arg \\\n more\n:0\nVAR=| cmd\n:0\nV2 = ! x\n:0\n{ }\n:0\n{x}\n");
    is_int(rc->nitems, 6, "six recipes");
    is_int(rc->items[0].action, RCA_FORWARD, "forward");
    is_int(rc->items[1].action, RCA_PIPE, "pipe");
    is_string(rc->items[1].pipe, " cmd arg \\\n more", "pipe line with its continuation");
    is_string(rc->items[2].name, "VAR", "capture variable");
    is_int(rc->items[2].action, RCA_PIPE, "capture is a pipe");
    is_string(rc->items[3].name, "V2", "capture with blanks and !");
    is_int(rc->items[4].action, RCA_BLOCK, "{ } is a block");
    is_int(rc->items[5].action, RCA_FOLDER, "{x} is a folder name");
    rc_free(rc);

    /* nested blocks */
    rc = parse(":0\n{\n  A=1\n  :0\n  * x\n  {\n    :0\n    f\n  }\n}\nB=2\n");
    is_int(rc->nitems, 2, "block and the assignment after it");
    it = &rc->items[0];
    is_int(it->nitems, 2, "outer block: assignment and recipe");
    ok(it->block_closed, "outer block closed");
    is_int(it->items[1].nitems, 1, "inner block: one recipe");
    is_int(it->items[1].items[0].line, 7, "inner recipe at line 7");
    rc_free(rc);

    /* old syntax */
    rc = parse(":1\n^Subject\nfolder\n");
    is_int(rc->items[0].nconds, 1, ":1 takes one condition without *");
    is_string(rc->items[0].conds[0].text, "^Subject", "the old-style condition");
    rc_free(rc);

    /* errors, each at its line */
    rc = parse("A=1\n-junk line\n}\nfoo-bar\n:0\n* x\n\n:0\nfolder\n:0\n");
    {
        size_t k;
        int skipped_junk = 0, brace = 0, missing = 0, incomplete = 0, skipped_word = 0;

        for (k = 0; k < rc->nitems; k++) {
            it = &rc->items[k];
            if (it->kind == RC_ERROR && !strcmp(it->text, "Skipped \"-junk line\"") && it->line == 2)
                skipped_junk = 1;
            if (it->kind == RC_ERROR && !strcmp(it->text, "Closing brace unexpected") && it->line == 3)
                brace = 1;
            if (it->kind == RC_ERROR && !strcmp(it->text, "Skipped \"foo\"") && it->line == 4)
                skipped_word = 1;
            if (it->kind == RC_ERROR && !strcmp(it->text, "Missing action") && it->line == 5)
                missing = 1;
            if (it->kind == RC_RECIPE && it->action == RCA_NONE && it->line == 10)
                incomplete = 1;
        }
        ok(skipped_junk, "a junk line is Skipped at line 2");
        ok(brace, "a stray } at line 3");
        ok(skipped_word, "foo-bar: the word is Skipped at line 4");
        ok(missing, "a recipe whose conditions are followed by an empty line and a new recipe: Missing action, line 5");
        ok(incomplete, "a recipe at the end of the file has no action (line 10)");
    }
    rc_free(rc);
    rc = parse(":0\n{\n:0\nx\n");
    ok(!rc->items[0].block_closed, "a block left open runs to the end of the file");
    rc_free(rc);
    {
        struct buf deep = BUF_INIT;
        int i;

        for (i = 0; i < 200; i++)
            buf_addstr(&deep, ":0\n{\n");
        rc = parse(deep.data);
        ok(rc != 0, "200 nested blocks: parsed, with the nesting limit reported");
        rc_free(rc);
        buf_free(&deep);
    }

    /* words */
    expand_is("plain words here\n", RCX_WORDS, "plain|words|here|", "words split at blanks");
    expand_is("'single $A' \"double $A\"\n", RCX_WORDS, "single $A|double alpha|", "quotes");
    expand_is("$W x\n", RCX_WORDS, "two|words|x|", "unquoted substitution is split");
    expand_is("\"$W\"\n", RCX_WORDS, "two  words|", "quoted substitution is not");
    expand_is("${A}b ${U:-def} ${A:-no} ${A:+yes} ${U:+no}x ${E-dash} ${E:-colon} ${U+p}q\n", RCX_WORDS,
              "alphab|def|alpha|yes|x|colon|q|", "${} forms");
    expand_is("$\\R\n", RCX_WORDS, "()a\\.b\\*c|", "$\\name quotes regex specials");
    expand_is("$$ $? $# $= $_ $-\n", RCX_WORDS, "<$>|<?>|<#>|<=>|<_>|<->|", "specials");
    expand_is("$1 $9 ${1}\n", RCX_WORDS, "arg1|arg1|", "positional");
    expand_is("a\\ b \\$A \"\\$A \\x\"\n", RCX_WORDS, "a b|$A|$A \\x|", "escapes");
    expand_is("x # comment\n", RCX_WORDS, "x|", "comment at the start of a word");
    expand_is("x#y\n", RCX_WORDS, "x#y|", "# inside a word is text");
    expand_is("`echo hi` \"`cmd`\"\n", RCX_WORDS, "ran[echo|hi]|ran[cmd]|", "backquotes, trailing newlines dropped");
    expand_is("a\\\nb\n", RCX_WORDS, "ab|", "backslash-newline joins");
    expand_is("\"multi\nline\"\n", RCX_WORDS, "multi\nline|", "a newline inside quotes");
    expand_is("val rest\n", RCX_VALUE, "val", "a value ends at a blank");
    expand_is("\"a b\"c rest\n", RCX_VALUE, "a bc", "a quoted value");
    expand_is("  a   b  \n", RCX_LINE, "a b ", "RCX_LINE keeps single blanks");
    expand_is("$@ x\n", RCX_WORDS, "@|x|", "unquoted $@ loses its $, as in procmail");
    expand_is("\n", RCX_WORDS, "|", "an empty line is one empty word");
    warned = 0;
    expand_is("${A?x}\n", RCX_WORDS, "x}|", "a bad substitution drops the name and the bad character");
    ok(warned == 1, "is reported");
    {
        struct rcsrc src = { "\"$@\" y\n", 7, 0 };
        struct rcx_result res;

        rcx_result_init(&res);
        rcx_parse(&src, RCX_WORDS, &env, &res);
        is_int(res.all_args, 0, "\"$@\" marks its word");
        rcx_result_free(&res);
    }
    {
        struct rcsrc src = { "A=`cmd` x\n", 10, 0 };
        struct rcx_result res;

        rcx_result_init(&res);
        src.pos = 2;
        rcx_parse(&src, RCX_VALUE, 0, &res);
        is_int(src.pos, 8, "scan only: the end is found without running anything");
        rcx_result_free(&res);
    }
    return done_testing();
}
