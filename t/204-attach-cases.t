#!/bin/sh
# 204-attach-cases.t - the shipped policy on archives (zip, rar, 7z, tar, gz,
# nested, too deep, encrypted, disguised as text, an Office file with macros)
# and on malformed MIME (unterminated boundary, broken base64, duplicate and
# conflicting headers and parameters, names that differ between Content-Type and
# Content-Disposition, unknown transfer encoding, multipart without boundary):
# each gets the action and the rule the policy's comments promise, never a pass.
. "$(dirname "$0")/lib/tap.sh"
need_cmd python3 "the messages are composed by Python's email package"
need_cmd 7z "7z archives are made with p7zip (contrib/deps.sh)"

JUDGE="$TOP/t/lib/attach-judge"
POLICY="$TOP/rules/attachment_policy"
mkdir "$T/msg"
python3 "$TOP/t/data/attach/mkmsgs.py" "$T/msg" || bail "mkmsgs.py failed"

# expect MESSAGE ACTION ERE - the verdict's action, and its hit line matches ERE
expect() {
    out=$("$JUDGE" "$POLICY" "$T/msg/$1.eml")
    is "$(echo "$out" | head -1 | cut -d' ' -f1)" "$2" "$1: $2" || diag "$out"
    like "$(echo "$out" | grep "^hit: $2" | head -1)" "$3" "$1: the hit says why"
}

expect arch-tar-exe REJECT 'member "bin/run\.scr" .*\(ext scr\)'
expect arch-gz-exe REJECT '"setup\.exe\.gz" member "setup\.exe" .*\(ext exe\)'
expect arch-rar-exe REJECT '"files\.rar" member "payload\.exe" .*\(ext exe\)'
expect arch-7z-bat REJECT '"tools\.7z" member "tools/run\.bat" .*\(ext bat\)'
expect arch-nested REJECT 'member "inner\.zip/deep/evil\.js" .*\(ext js\)'
expect arch-too-deep HOLD 'member "level4\.zip/level3\.zip/level2\.zip" .*\(unscanned\)'
expect arch-disguised REJECT '"notes\.txt" member "a\.exe" .*\(ext exe\)'
expect arch-docm HOLD 'member "word/vbaProject\.bin" .*name "vbaproject\.bin"'
expect arch-7z-encrypted HOLD '"private\.7z" rule .*\(encrypted\)'
expect arch-zip-encrypted HOLD '"private\.zip" .*\(encrypted\)'
expect bad-unterminated REJECT 'part 0 rule .*\(malformed boundary'
expect bad-no-boundary REJECT 'part 0 rule .*\(malformed boundary\)'
expect bad-base64 HOLD 'part 2 "a\.pdf" .*\(malformed base64\)'
expect bad-double-cte REJECT 'part 2 "a\.pdf" .*\(malformed conflict\)'
expect bad-duplicate-cd REJECT 'part 2 "invoice\.exe" .*\(malformed conflict'
expect bad-dup-param REJECT 'part 2 "a\.pdf" .*\(malformed conflict'
expect bad-name-mismatch REJECT 'part 2 "invoice\.pdf" .*\(malformed names\)'
expect bad-unknown-cte HOLD 'part 2 "a\.pdf" .*\(malformed encoding\)'

# A message read from a pipe is spooled, not refused.
out=$(cat "$T/msg/arch-rar-exe.eml" | "$JUDGE" "$POLICY" - | head -1)
is "$out" "REJECT Executable attachments are refused" "a message on a pipe is judged the same"
done_testing
