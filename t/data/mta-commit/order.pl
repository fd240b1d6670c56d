#!/usr/bin/perl
# order.pl - check, in an strace -f -y log, that a message's queue file and
# its incoming/ directory were fsynced before the "250 ... queued as ID"
# reply was written (t/477-commit-order.t).
#
#   perl order.pl STRACE_LOG QUEUE_DIR ID
#
# Prints one line per fact found ("file-fsync N", "rename N",
# "dir-fsync N", "reply N": N is the order in which the calls completed)
# and exits 0 when the order holds, 1 (with the reason) when not.
# Calls split by strace ("<unfinished ...>" then "<... resumed>") count
# when they complete: strace reports that before the thread's next call.
use strict;
use warnings;

my ($log, $qdir, $id) = @ARGV;
open(my $fh, '<', $log) or die "$log: $!\n";
my (%pending, @done);
while (my $line = <$fh>) {
    chomp $line;
    next unless $line =~ /^(\d+)\s+[\d:.]+\s+(.*)$/;
    my ($pid, $rest) = ($1, $2);
    if ($rest =~ /^(.*) <unfinished \.\.\.>$/) {
        $pending{$pid} = $1;
        next;
    }
    if ($rest =~ /^<\.\.\. \w+ resumed>(.*)$/) {
        my $start = delete $pending{$pid} // '';
        push @done, $start . $1;
        next;
    }
    push @done, $rest;
}
close($fh);

my ($tmp, $file_fsync, $rename, $dir_fsync, $reply);
for my $i (0 .. $#done) {
    my $c = $done[$i];
    if (!defined $rename && $c =~ /^rename\w*\(.*"(\Q$qdir\E\/incoming\/\.tmp-[^"]+)".*"\Q$qdir\E\/incoming\/\Q$id\E"/) {
        $tmp = $1;
        $rename = $i;
    }
}
die "no rename of a temporary file to incoming/$id in $log\n" unless defined $rename;
for my $i (0 .. $#done) {
    my $c = $done[$i];
    $file_fsync = $i if $c =~ /^f(?:data)?sync\(\d+<\Q$tmp\E>\) = 0/ && $i < $rename;
    $dir_fsync //= $i if $c =~ /^f(?:data)?sync\(\d+<\Q$qdir\E\/incoming>\) = 0/ && $i > $rename;
    $reply //= $i if $c =~ /^(?:write|writev|send|sendto|sendmsg)\(.*250 2\.0\.0 Ok: queued as \Q$id\E/;
}
printf "file-fsync %s\nrename %d\ndir-fsync %s\nreply %s\n", $file_fsync // 'none', $rename,
    $dir_fsync // 'none', $reply // 'none';
die "no fsync of $tmp before its rename\n" unless defined $file_fsync;
die "no fsync of $qdir/incoming after the rename\n" unless defined $dir_fsync;
die "no write of the 250 reply for $id\n" unless defined $reply;
die "the 250 reply was written before the file was fsynced\n" unless $file_fsync < $reply;
die "the 250 reply was written before incoming/ was fsynced\n" unless $dir_fsync < $reply;
exit 0;
