#!/bin/sh
# 001-tap.t - the TAP helpers themselves: t/lib/tap.h reports failures with
# got/expected and a non-zero exit; t/lib/tap.sh's need_cmd skips a test
# when a tool is missing, but fails it under CI=true.
. "$(dirname "$0")/lib/tap.sh"

st="$TOP/t/lib/tap-selftest"
out=$("$st" pass); rc=$?
is "$rc" 0 "a passing C test exits 0"
like "$out" '^ok 4 # skip' "skip() prints a TAP skip line"
out=$("$st" fail); rc=$?
is "$rc" 1 "a failing C test exits 1"
like "$out" '^not ok 2 - numbers compare' "a failed is_int is 'not ok'"
like "$out" '#          got: 41' "with what it got"
like "$out" "#     expected: 'want'" "and what it expected, for strings too"
like "$out" 'Failed test at .*tap-selftest.c line' "and where the test is"

# need_cmd, outside and inside CI.
cat > "$T/needs.t" <<EOT
#!/bin/sh
. "$TOP/t/lib/tap.sh"
need_cmd no-such-tool-mailsift "for the self test"
ok "not reached" true
done_testing
EOT
chmod +x "$T/needs.t"
out=$(CI= "$T/needs.t"); rc=$?
is "$rc" 0 "without CI a missing tool skips"
like "$out" '^1\.\.0 # SKIP no-such-tool-mailsift' "with a SKIP plan naming the tool"
out=$(CI=true "$T/needs.t"); rc=$?
is "$rc" 1 "under CI=true a missing tool fails"
like "$out" '^not ok 1 - no-such-tool-mailsift is installed' "with a 'not ok' naming it"

# The shell assertions fail loudly too.
cat > "$T/fails.t" <<EOT
#!/bin/sh
. "$TOP/t/lib/tap.sh"
is "a" "b" "differs"
done_testing
EOT
chmod +x "$T/fails.t"
out=$("$T/fails.t"); rc=$?
is "$rc" 1 "a failing shell test exits 1"
like "$out" "# expected: 'b'" "and says what it expected"
done_testing
