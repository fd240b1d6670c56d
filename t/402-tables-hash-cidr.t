#!/bin/sh
# 402-tables-hash-cidr.t - libmatch's texthash:, hash: (read from the source
# text, no postmap step) and cidr: tables give the same answers as real
# Postfix (postmap -q) for every key of t/data/mta-smtpd/*.keys, and
# complain about the same lines; a table with bad lines does not open
# unless lenient.
. "$(dirname "$0")/lib/tap.sh"
need_cmd postmap "the reference for Postfix table semantics"

D="$TOP/t/data/mta-smtpd"
mkdir -p "$T/pf" && : > "$T/pf/main.cf"
pm() { postmap -c "$T/pf" "$@"; }
tablequery() { "$TOP/t/lib/tablequery" "$@"; }

# same TYPE FILE KEYS - our answers equal postmap's, and the same lines are warned about
same() {
    ours=$(tablequery -l "$1:$2" < "$3" 2>"$T/our.err")
    theirs=$(pm -q - "$1:$2" < "$3" 2>"$T/pf.err")
    is "$ours" "$theirs" "$1:$(basename "$2"): every key answers as in postmap"
    is "$(grep -o 'line [0-9]*' "$T/our.err" | sort | tr '\n' ' ')" \
       "$(grep -o 'line [0-9]*' "$T/pf.err" | sort | tr '\n' ' ')" \
       "$1:$(basename "$2"): the same lines are warned about"
}

same texthash "$D/access.txt" "$D/access.keys"
same texthash "$D/bad.txt" "$D/bad.keys"
same cidr "$D/nets.cidr" "$D/nets.keys"
same cidr "$D/badnets.cidr" "$D/badnets.keys"

# hash: Postfix reads the .db that postmap builds; we read the text it was built from.
cp "$D/access.txt" "$T/access"
pm "hash:$T/access" 2>/dev/null
is "$(tablequery "hash:$T/access" < "$D/access.keys")" "$(pm -q - "hash:$T/access" < "$D/access.keys")" \
   "hash: answers from the source text as Postfix does from the .db"
is "$(tablequery "lmdb:$T/access" example.com)" "REJECT spam domain" "lmdb: reads the source text too"

# Single lookups and exit codes.
is "$(tablequery "texthash:$D/access.txt" Example.Com)" "REJECT spam domain" "keys are case-folded"
nok "a missing key is not found" tablequery "texthash:$D/access.txt" nothere
tablequery "texthash:$D/bad.txt" good >/dev/null 2>&1
is "$?" 2 "a table with bad lines does not open unless lenient"
tablequery "cidr:$D/badnets.cidr" 10.0.0.1 >/dev/null 2>&1
is "$?" 2 "a cidr table with bad lines does not open unless lenient"
is "$(tablequery -w "cidr:$D/nets.cidr" 10.1.2.3)" "DISCARD exact	$D/nets.cidr:4" "file and line of the rule"
is "$(tablequery 'texthash:{ {a@b OK}, {c REJECT no} }' C)" "REJECT no" "inline texthash"
is "$(tablequery 'cidr:{ {10.0.0.0/8 OK} }' 10.2.3.4)" "OK" "inline cidr"
tablequery "texthash:$T/none" x >/dev/null 2>&1
is "$?" 2 "a missing file does not open"
done_testing
