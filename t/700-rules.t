#!/bin/sh
# 700-rules.t - the shipped Postfix tables in rules/ load without a single
# warning in real Postfix (postmap) and in libmatch (strict, as milterd
# loads them), and both give the verdicts the comments promise, case by
# case (t/data/rules/*.cases: key, TAB, expected result).
. "$(dirname "$0")/lib/tap.sh"
need_cmd postmap "the reference for Postfix table semantics"

PATH="$TOP/t/lib:$PATH"
mkdir -p "$T/pf" && : > "$T/pf/main.cf"

for table in header_checks body_checks; do
    warn=$(echo probe | postmap -c "$T/pf" -q - "pcre:$TOP/rules/$table" 2>&1 >/dev/null)
    is "$warn" "" "postmap loads rules/$table without warnings"
    warn=$(tablequery "pcre:$TOP/rules/$table" probe 2>&1 >/dev/null)
    is "$warn" "" "libmatch loads rules/$table strictly, without warnings"
    while IFS='	' read -r key want; do
        case "$key" in "#"*|"") continue ;; esac
        got=$(printf '%s\n' "$key" | postmap -c "$T/pf" -q - "pcre:$TOP/rules/$table" | cut -f2-)
        is "${got:--}" "$want" "postmap $table: $(printf '%.50s' "$key")"
        got=$(printf '%s\n' "$key" | tablequery "pcre:$TOP/rules/$table" | cut -f2-)
        is "${got:--}" "$want" "libmatch $table: $(printf '%.50s' "$key")"
    done < "$TOP/t/data/rules/$table.cases"
done
done_testing
