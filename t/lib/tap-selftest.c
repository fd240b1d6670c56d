/*
 * tap-selftest.c - a C test program that passes and fails on purpose, so
 * that t/001-tap.t can check what t/lib/tap.h prints in both cases.
 * Run with "pass" it passes everything; with "fail" it fails two tests.
 */
#include <string.h>

#include "t/lib/tap.h"

int main(int argc, char **argv)
{
    int fail = argc > 1 && strcmp(argv[1], "fail") == 0;

    plan(4);
    ok(1, "always passes");
    is_int(fail ? 41 : 42, 42, "numbers compare");
    is_string(fail ? "got" : "want", "want", "strings compare");
    skip(1, "nothing to skip really");
    return done_testing();
}
