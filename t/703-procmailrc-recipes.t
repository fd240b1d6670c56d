#!/bin/sh
# 703-procmailrc-recipes.t - the recipes shipped in rules/procmailrc/ do
# what their comments say, in real procmail and in procsort alike.  Each
# case in t/data/rules/procmailrc/ runs through both programs as the same
# unprivileged user (t/lib/procdiff.pl, the differential harness of the
# procsort tests): its check section says where the mail must land (and
# what must not happen: no folder named by a stranger's header, no second
# vacation reply), and procsort must leave exactly what procmail left.
# The recipe files are read from rules/ at run time: in a case, "@RULES@"
# (setup) becomes commands that copy every rules/procmailrc/*.rc into
# ~/.procmail/ and make ~/Maildir, and "@PROCMAILRC@" (rc) becomes the
# complete rules/procmailrc/procmailrc.  Every recipe file must have a
# case, and "procsort --lint" must find nothing in any of them.  The
# log files, abstracts included, are compared too.
. "$(dirname "$0")/lib/tap.sh"
need_cmd procmail "the reference the recipes are run through"
need_cmd formail "duplicates.rc and vacation.rc use it"
[ -x "$TOP/procsort/procsort" ] || bail "procsort is not built"
[ -x "$TOP/t/lib/procdiff-reap" ] || bail "t/lib/procdiff-reap is not built"

RULES=$TOP/rules/procmailrc
CASES=$TOP/t/data/rules/procmailrc

for f in "$RULES"/*.rc "$RULES/procmailrc"; do
    n=$(basename "$f")
    out=$("$TOP/procsort/procsort" --lint "$f" 2>&1)
    is "$out" "" "procsort --lint finds nothing in rules/procmailrc/$n"
    if [ "$n" = procmailrc ]; then pat='^@PROCMAILRC@$'; else pat="^INCLUDERC=.*/$n\$"; fi
    ok "rules/procmailrc/$n has a case" grep -lq -- "$pat" "$CASES"/*.case
done

# The rules as setup commands: one here-document per file.
{
    echo 'mkdir -p Maildir .procmail'
    for f in "$RULES"/*.rc; do
        grep -q '^@@RULE@@$' "$f" && bail "$f contains the here-document marker"
        printf "cat > .procmail/%s <<'@@RULE@@'\n" "$(basename "$f")"
        cat "$f"
        echo '@@RULE@@'
    done
} > "$T/rules.sh"
mkdir "$T/cases"
for c in "$CASES"/*.case; do
    awk -v rules="$T/rules.sh" -v rc="$RULES/procmailrc" '
        $0 == "@RULES@" { while ((getline l < rules) > 0) print l; close(rules); next }
        $0 == "@PROCMAILRC@" { while ((getline l < rc) > 0) print l; close(rc); next }
        { print }' "$c" > "$T/cases/$(basename "$c")"
done

# The harness prints its own TAP; its results are counted in ours.
cd "$T/cases" || bail "no cases"
perl "$TOP/t/lib/procdiff.pl" *.case > "$T/diff.tap" 2>&1
while IFS= read -r line; do
    case "$line" in
        "ok "*) tap_result 0 "$(echo "$line" | sed 's/^ok [0-9]* - //')" ;;
        "not ok "*) tap_result 1 "$(echo "$line" | sed 's/^not ok [0-9]* - //')" ;;
        "#"*) echo "$line" ;;
        1..*) ;;
        *) diag "$line" ;;
    esac
done < "$T/diff.tap"
is "$(grep -c '^\(not \)\{0,1\}ok ' "$T/diff.tap")" "$(ls "$CASES"/*.case | wc -l)" "the harness ran every case"
done_testing
