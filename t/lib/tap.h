/*
 * tap.h - a tiny TAP producer for mailsift's C unit tests.
 *
 *   int main(void) {
 *       plan(2);                      or leave the plan to done_testing()
 *       ok(1 + 1 == 2, "arithmetic");
 *       is_string(got, "want", "the lookup result");
 *       return done_testing();
 *   }
 *
 * Failures print the file and line and, for is_int/is_string, what was
 * got and what was expected, as TAP diagnostics on stdout.  done_testing()
 * returns the exit status: 0 when everything passed and the plan held.
 */
#ifndef MAILSIFT_TAP_H
#define MAILSIFT_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_run;
static int tap_failed;
static int tap_planned = -1;

static void tap_vline(const char *prefix, const char *fmt, va_list ap)
{
    fputs(prefix, stdout);
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
}

/* diag - a diagnostic line ("# text") */
static inline __attribute__((format(printf, 1, 2), unused)) void diag(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    tap_vline("# ", fmt, ap);
    va_end(ap);
}

/* plan - announce the number of tests up front */
static inline __attribute__((unused)) void plan(int n)
{
    tap_planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}

/* skip_all - nothing to run here, and why */
static inline __attribute__((noreturn, unused)) void skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    exit(0);
}

/* bail - stop the whole run: the environment is broken */
static inline __attribute__((format(printf, 1, 2), noreturn, unused)) void bail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    tap_vline("Bail out! ", fmt, ap);
    va_end(ap);
    exit(255);
}

static inline int tap_result(int pass, const char *file, int line, const char *fmt, va_list ap)
{
    tap_run++;
    if (!pass)
        tap_failed++;
    printf("%s %d - ", pass ? "ok" : "not ok", tap_run);
    vprintf(fmt, ap);
    putchar('\n');
    if (!pass)
        printf("#   Failed test at %s line %d.\n", file, line);
    fflush(stdout);
    return pass;
}

static inline __attribute__((format(printf, 4, 5), unused)) int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pass = tap_result(pass, file, line, fmt, ap);
    va_end(ap);
    return pass;
}

static inline __attribute__((format(printf, 5, 6), unused)) int
tap_is_int(long got, long want, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    int pass;

    va_start(ap, fmt);
    pass = tap_result(got == want, file, line, fmt, ap);
    va_end(ap);
    if (!pass)
        printf("#          got: %ld\n#     expected: %ld\n", got, want);
    return pass;
}

static inline __attribute__((format(printf, 5, 6), unused)) int
tap_is_string(const char *got, const char *want, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    int pass;

    va_start(ap, fmt);
    pass = tap_result((got == NULL && want == NULL) ||
                      (got && want && strcmp(got, want) == 0), file, line, fmt, ap);
    va_end(ap);
    if (!pass)
        printf("#          got: %s%s%s\n#     expected: %s%s%s\n",
               got ? "'" : "", got ? got : "NULL", got ? "'" : "",
               want ? "'" : "", want ? want : "NULL", want ? "'" : "");
    return pass;
}

#define ok(pass, ...) tap_ok(!!(pass), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int((long) (got), (long) (want), __FILE__, __LINE__, __VA_ARGS__)
#define is_string(got, want, ...) tap_is_string((got), (want), __FILE__, __LINE__, __VA_ARGS__)

/* skip - record n skipped tests, with the reason */
static inline __attribute__((unused)) void skip(int n, const char *why)
{
    while (n-- > 0) {
        tap_run++;
        printf("ok %d # skip %s\n", tap_run, why);
    }
    fflush(stdout);
}

/* done_testing - print the plan if none was given; the exit status */
static inline __attribute__((unused)) int done_testing(void)
{
    if (tap_planned < 0)
        printf("1..%d\n", tap_run);
    else if (tap_planned != tap_run)
        printf("# planned %d tests but ran %d\n", tap_planned, tap_run);
    if (tap_failed)
        printf("# failed %d of %d tests\n", tap_failed, tap_run);
    fflush(stdout);
    return tap_failed || (tap_planned >= 0 && tap_planned != tap_run);
}

#endif
