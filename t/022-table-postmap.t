#!/bin/sh
# 022-table-postmap.t - libmatch's regexp: and pcre: tables against the real
# Postfix: for every table in t/data/tables/diff/ and every key in
# common.keys plus the table's own NAME.keys, t/lib/tablequery must print
# exactly what "postmap -q - TYPE:TABLE" prints, not-found included (both
# are given a second, catch-all table that answers "(not found)", so every
# key gets a line).  Keys with newlines (NAME.mlkeys, one per line with \n
# escapes) go one at a time through "postmap -q KEY", and so do the inline
# tables of inline.cases.  Tables in
# t/data/tables/bad/ hold every kind of bad line: without TABLE_LENIENT we
# must complain about exactly the lines postmap warns about, and with it
# answer every key as postmap does.
. "$(dirname "$0")/lib/tap.sh"

need_cmd postmap "the reference for regexp: and pcre: tables"

Q=$TOP/t/lib/tablequery
DIFF=$TOP/t/data/tables/diff
BAD=$TOP/t/data/tables/bad
[ -x "$Q" ] || bail "$Q is not built: run make check-build"

# postmap needs a main.cf; an empty one means Postfix's defaults.
mkdir "$T/pf" && : > "$T/pf/main.cf"
printf '/^/ (not found)\n' > "$T/sentinel.regexp"
SENTINEL="regexp:$T/sentinel.regexp"
postmap -c "$T/pf" -q probe "pcre:$T/sentinel.regexp" > /dev/null 2>"$T/probe.err" ||
    bail "postmap cannot read pcre: tables (postfix-pcre missing?): $(cat "$T/probe.err")"

lookups=0

# Every good table: same answers, and neither side has anything to say.
for table in "$DIFF"/*.pcre "$DIFF"/*.regexp; do
    name=$(basename "$table")
    type=${name##*.}
    keys=$T/$name.keys
    cat "$DIFF/common.keys" > "$keys"
    [ -f "${table%.*}.keys" ] && cat "${table%.*}.keys" >> "$keys"
    postmap -c "$T/pf" -q - "$type:$table" "$SENTINEL" < "$keys" > "$T/want" 2> "$T/want.err"
    "$Q" "$type:$table $SENTINEL" < "$keys" > "$T/got" 2> "$T/got.err"
    n=$(wc -l < "$keys")
    lookups=$((lookups + n))
    same_file "$T/got" "$T/want" "$name: $n keys answered as postmap answers them"
    is "$(cat "$T/want.err" "$T/got.err")" "" "$name: no warnings from postmap or from us"
done

# Keys with newlines, one postmap -q KEY each.
for keys in "$DIFF"/*.mlkeys; do
    base=${keys%.mlkeys}
    table=$(ls "$base".pcre "$base".regexp 2>/dev/null | head -1)
    name=$(basename "$table")
    type=${name##*.}
    bad=0
    n=0
    while IFS= read -r k; do
        key=$(printf '%b_' "$k")
        key=${key%_}
        want=$(postmap -c "$T/pf" -q "$key" "$type:$table" 2>&1; echo "exit $?")
        got=$("$Q" "$type:$table" "$key" 2>&1; echo "exit $?")
        n=$((n + 1))
        if [ "$want" != "$got" ]; then
            bad=$((bad + 1))
            diag "$name: key '$k': postmap says '$want', we say '$got'"
        fi
    done < "$keys"
    lookups=$((lookups + n))
    is "$bad" 0 "$name: $n keys with newlines answered as postmap answers them"
done

# Inline tables (Postfix 3.7's type:{ {rule}, {rule} }): KEY<TAB>SPEC.
bad=0
n=0
while IFS='	' read -r key spec; do
    want=$(postmap -c "$T/pf" -q "$key" "$spec" 2>&1; echo "exit $?")
    got=$("$Q" "$spec" "$key" 2>&1; echo "exit $?")
    n=$((n + 1))
    if [ "$want" != "$got" ]; then
        bad=$((bad + 1))
        diag "$spec: key '$key': postmap says '$want', we say '$got'"
    fi
done < "$DIFF/inline.cases"
lookups=$((lookups + n))
is "$bad" 0 "$n lookups in inline tables answered as postmap answers them"

# The line numbers a log mentions, one per line, sorted; a leading white
# space complaint (postmap 3.7 gives no line number for it) as "lead".
warned_lines() {
    sed -n -e 's/.*must not start with white *space.*/lead/p' \
        -e '/must not start/!s/.*, line \([0-9][0-9]*\): .*/\1/p' "$1" | sort -u
}

for table in "$BAD"/*.pcre "$BAD"/*.regexp; do
    name=$(basename "$table")
    type=${name##*.}
    keys=${table%.*}.keys
    postmap -c "$T/pf" -q - "$type:$table" "$SENTINEL" < "$keys" > "$T/want" 2> "$T/want.err"
    "$Q" -l "$type:$table $SENTINEL" < "$keys" > "$T/got" 2> "$T/got.err"
    lookups=$((lookups + $(wc -l < "$keys")))
    same_file "$T/got" "$T/want" "$name: lenient, keys answered as postmap answers them"
    "$Q" "$type:$table" probe > /dev/null 2> "$T/strict.err"
    is "$?" 2 "$name: without TABLE_LENIENT the table does not load"
    warned_lines "$T/want.err" > "$T/want.lines"
    grep '^tablequery: warning:' "$T/strict.err" > "$T/strict.ours"
    warned_lines "$T/strict.ours" > "$T/got.lines"
    same_file "$T/got.lines" "$T/want.lines" "$name: we report the lines postmap warns about ($(tr '\n' ' ' < "$T/want.lines"))"
    warned_lines "$T/got.err" > "$T/got.lines"
    same_file "$T/got.lines" "$T/want.lines" "$name: lenient, the same lines again"
    # Everything on stderr, logged or listed: no problem may appear twice.
    dups=$(sed -n 's/^[a-z]*: warning: //p' "$T/got.err" | sed 's/: [a-z ]*this [a-z]*$//; s/: ignoring.*$//' |
        sed 's/\(white space\).*/\1/' | sort | uniq -d)
    is "$dups" "" "$name: each problem is reported once"
done

diag "$lookups lookups compared with postmap"
ok "several hundred lookups compared ($lookups)" test "$lookups" -ge 500
done_testing
