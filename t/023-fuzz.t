#!/bin/sh
# 023-fuzz.t - "make fuzz" builds every libFuzzer target (fuzz/fuzz-NAME.c,
# see fuzz/build.mk), and each one runs clean: first over its whole seed
# corpus (fuzz/corpus/NAME/), then for FUZZ_SECONDS (default 5) of new
# mutations.  New inputs and any crash file go to $T, never into the tree.
# Needs clang and its libFuzzer runtime (libclang-rt-14-dev): a skip
# without them, a failure under CI=true.
. "$(dirname "$0")/lib/tap.sh"

need_cmd clang "builds the libFuzzer targets"
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void) d; (void) n; return 0; }\n' > "$T/probe.c"
if ! clang -fsanitize=fuzzer -o "$T/probe" "$T/probe.c" 2> "$T/probe.err"; then
    if [ "${CI:-}" = true ]; then
        echo "1..1"
        echo "not ok 1 - clang links libFuzzer programs"
        diag "$(cat "$T/probe.err")"
        diag "CI=true: install libclang-rt-14-dev (make deps)"
        exit 1
    fi
    skip_all "clang cannot link libFuzzer programs (libclang-rt-14-dev missing)"
fi

SECONDS_EACH=${FUZZ_SECONDS:-5}

# A make of our own: nothing of a parent make's job server or flags.
if with_timeout 900 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$TOP" --no-print-directory -j2 fuzz \
    > "$T/make.log" 2>&1; then
    tap_result 0 "make fuzz builds every target"
else
    tap_result 1 "make fuzz builds every target"
    diag "$(tail -30 "$T/make.log")"
    done_testing
fi

# run_fuzzer LOG DESC ARGS... - pass when the target exits 0; the log's end on failure
run_fuzzer() {
    _log=$1
    _desc=$2
    shift 2
    if with_timeout $((SECONDS_EACH + 300)) "$@" > "$_log" 2>&1; then
        tap_result 0 "$_desc"
    else
        tap_result 1 "$_desc"
        diag "$(grep -E 'ERROR|SUMMARY|Test unit|#[0-9]+ 0x' "$_log" | head -30)"
        return 1
    fi
}

targets=$(ls "$TOP"/fuzz/fuzz-*.c 2>/dev/null | sed 's/\.c$//')
[ -n "$targets" ] || bail "no fuzz targets in $TOP/fuzz"
for target in $targets; do
    name=${target##*/fuzz-}
    corpus=$TOP/fuzz/corpus/$name
    ok "fuzz-$name is built" test -x "$target"
    if [ -d "$corpus" ] && [ -n "$(ls "$corpus")" ]; then
        run_fuzzer "$T/$name.seeds.log" "fuzz-$name: every seed in fuzz/corpus/$name runs clean" \
            "$target" -runs=0 -timeout=30 -rss_limit_mb=2560 "$corpus"
    else
        tap_result 1 "fuzz-$name has a seed corpus in fuzz/corpus/$name"
        corpus=""
    fi
    mkdir "$T/new-$name"
    run_fuzzer "$T/$name.run.log" "fuzz-$name: ${SECONDS_EACH}s of fuzzing find nothing" \
        "$target" -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=30 -rss_limit_mb=2560 \
        -artifact_prefix="$T/" "$T/new-$name" $corpus
done

done_testing
