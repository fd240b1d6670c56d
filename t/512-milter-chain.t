#!/bin/sh
# 512-milter-chain.t - two milters in a chain, in smtpd_milters order, as
# Postfix runs them: each sees the message as the one before edited it
# (headers, indexes after deletions, body), the first reject or discard
# ends an event, a RCPT rejected by one is not shown to the next, a
# quarantine holds the message but leaves the next milter at work.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/milter.sh"

run_cases "$DATA/chain.cases"
done_testing
