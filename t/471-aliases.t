#!/bin/sh
# 471-aliases.t - aliases(5) and virtual(5) end to end through mta-core:
# fan-out (each member once, even when reached twice), |command with
# local(8)'s environment, /file (mbox format), :include:, an alias loop
# (bounced 5.4.6), user+ext falling back to the alias of user, virtual
# aliases with an @domain catch-all and Sendmail's %1, an unknown address
# in a virtual alias domain (5.1.1), and a changed aliases file picked up
# without a restart.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-queue/lib.sh"

cat > "$T/aliases" <<EOF
# team fan-out; carol is also reached through "leads"
team: alice, bob, leads
leads: carol, alice
pipe: "|env > $T/out/pipe.env; cat > $T/out/pipe.msg"
tofile: $T/out/file.mbox
list: :include:$T/list.inc
loopa: loopb
loopb: loopa
EOF
printf '# the list\ndave\nerin\n' > "$T/list.inc"
cat > "$T/virtual" <<EOF
virt.example      anything
info@virt.example alice@mx.test, frank
@catch.example    %1@mx.test
EOF
mq_conf
echo "virtual_alias_maps = hash:$T/virtual" >> "$T/main.cf"
mq_start

out=$(send sender@example.org team@mx.test --header "Subject: fan-out")
id=$(qid "$out")
ok "fan-out delivered" wait_for 10 'test "$(maildir_count alice)$(maildir_count bob)$(maildir_count carol)" = 111'
ok "log: each member with orig_to=<team@mx.test>" log_has "$id: to=<carol@mx.test>, orig_to=<team@mx.test>, relay=local"
is "$(log_count "$id: to=<alice@mx.test>")" 1 "alice, reached twice, got it once"

send sender@example.org pipe+x@mx.test --header "Subject: to a pipe" >/dev/null
ok "the command ran" wait_for 10 'test -s "$T/out/pipe.msg"'
wait_for 5 'test "$(queue_count)" -eq 0'
like "$(cat "$T/out/pipe.msg")" '^Subject: to a pipe$' "and got the message"
like "$(head -1 "$T/out/pipe.msg")" '^From sender@example.org  ' "with a From_ line first"
env_out=$(cat "$T/out/pipe.env")
like "$env_out" '^RECIPIENT=pipe\+x@mx.test$' "RECIPIENT"
like "$env_out" '^EXTENSION=x$' "EXTENSION (pipe+x fell back to the alias of pipe)"
like "$env_out" '^SENDER=sender@example.org$' "SENDER"
like "$env_out" '^ORIGINAL_RECIPIENT=pipe\+x@mx.test$' "ORIGINAL_RECIPIENT"
like "$env_out" '^CLIENT_ADDRESS=127.0.0.1$' "CLIENT_ADDRESS"
like "$env_out" '^CLIENT_HELO=client.test$' "CLIENT_HELO"
like "$env_out" '^PATH=/usr/bin:/bin$' "PATH as Postfix sets it"

send sender@example.org tofile@mx.test --header "Subject: to a file" >/dev/null
ok "the /file got it, mbox style" wait_for 10 'test "$(mbox_count "$T/out/file.mbox")" -eq 1'
ok "log: delivered to file" log_has "to=<tofile@mx.test>, relay=local, .*status=sent \(delivered to file: $T/out/file.mbox\)"

send sender@example.org list@mx.test --header "Subject: included" >/dev/null
ok ":include: members delivered" wait_for 10 'test "$(maildir_count dave)$(maildir_count erin)" = 11'

out=$(send sender@example.org loopa@mx.test --header "Subject: loop")
id=$(qid "$out")
ok "an alias loop bounces with 5.4.6" log_has "$id: to=<loopa@mx.test>, relay=local, .*dsn=5\.4\.6, status=bounced \(alias database loop for loopa@mx.test\)"
ok "and the message leaves the queue" wait_for 5 'test "$(queue_count)" -eq 0'

# virtual
out=$(send sender@example.org info@virt.example --header "Subject: virtual")
id=$(qid "$out")
ok "virtual fan-out: alice" wait_for 10 'test "$(maildir_count alice)" -eq 2'
ok "virtual fan-out: frank (unqualified: @myorigin)" wait_for 10 'test "$(maildir_count frank)" -eq 1'
ok "log: orig_to=<info@virt.example>" log_has "$id: to=<frank@mx.test>, orig_to=<info@virt.example>"
send sender@example.org whoever@catch.example --header "Subject: catch-all" >/dev/null
ok "catch-all with %1: whoever@mx.test" wait_for 10 'test "$(maildir_count whoever)" -eq 1'
out=$(send sender@example.org nobody@virt.example --header "Subject: unknown")
id=$(qid "$out")
if [ -n "$id" ]; then
    ok "unknown address in a virtual alias domain bounces 5.1.1" \
       log_has "$id: to=<nobody@virt.example>, relay=none, .*dsn=5\.1\.1, status=bounced \(User unknown in virtual alias table\)"
else
    like "$out" '<\*\* +5[0-9][0-9]' "unknown address in a virtual alias domain refused by smtpd"
fi

# A changed aliases file is used without a restart.
sleep 1
echo "newbie: grace" >> "$T/aliases"
send sender@example.org newbie@mx.test --header "Subject: new alias" >/dev/null
ok "the new alias works at once" wait_for 10 'test "$(maildir_count grace)" -eq 1'
ok "log: reloaded" log_has "reloaded hash:$T/aliases"
mq_stop
done_testing
