#!/bin/sh
# 513-milter-negotiate.t - option negotiation as Postfix validates it
# (version, action mask, reply type), protocol versions 2/4/6 and
# no_header_reply offered by milter_protocol, the protocol steps
# NOCONNECT..NOHDRS, the NR_* no-reply flags, RCPT_REJ, and the macros:
# Postfix's default lists, configured lists, milter_macro_defaults, values
# the session sets, and a milter's own lists (SETSYMLIST).
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/milter.sh"

run_cases "$DATA/negotiate.cases"
done_testing
