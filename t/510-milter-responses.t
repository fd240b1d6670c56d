#!/bin/sh
# 510-milter-responses.t - every milter response (continue, accept, reject,
# tempfail, discard, replycode incl. multi-line, quarantine, progress) at
# every stage (connect, helo, mail, rcpt, data, header, eoh, body, eom,
# unknown), against t/lib/testmilter through the real client
# (t/lib/milterdrive): the right verdict at the right stage, a RCPT reject
# for that recipient only, connection-level verdicts standing for the
# session, the events the milter sees afterwards, and the log lines.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/milter.sh"

run_cases "$DATA/responses.cases"
done_testing
