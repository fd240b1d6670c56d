#!/bin/sh
# 514-milter-failures.t - milters that cannot be reached (no socket,
# refused, a listen queue that stays full), that die, hang (command,
# content and handshake timeouts) or send garbage (text from something
# that is not a milter, impossible lengths, unknown codes, leftover data,
# malformed replycodes, replies out of place or unasked, cut-short
# packets): the client answers per milter_default_action (tempfail,
# accept, reject, quarantine, shutdown; per milter too), logs why, and
# lets a message through unedited rather than half-edited.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/milter.sh"

# A unix socket nobody accepts on, its queue already full.
python3 - "$T/full.sock" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(0)
fillers = []
for _ in range(4):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.setblocking(False)
    try: c.connect(sys.argv[1])
    except OSError: pass
    fillers.append(c)
time.sleep(120)
PY
FULL_PID=$!
tap_pids="$tap_pids $FULL_PID"
wait_file "$T/full.sock" 10

run_cases "$DATA/failures.cases"
done_testing
