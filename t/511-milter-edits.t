#!/bin/sh
# 511-milter-edits.t - end-of-message edits through the client against
# t/lib/testmilter: add, insert and change/delete headers with Postfix's
# index semantics (our own Received: hidden from milters but counted by
# INSHEADER), folded values, HDR_LEADSPC, recipients added (with
# parameters) and deleted, sender changed, body replaced in pieces, an
# edit the milter did not negotiate ignored, CRLF messages kept CRLF.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/milter.sh"

run_cases "$DATA/edits.cases"
done_testing
