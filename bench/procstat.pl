#!/usr/bin/perl
# procstat.pl - CPU time and memory of running processes, from /proc, for
# the daemon benchmarks (a daemon's figures are not in any rusage of ours).
#
#   perl bench/procstat.pl [-s SID]... [-p PID]...
#
# One line per process of those sessions (a Postfix instance: its master
# calls setsid) and of those pids:
#
#   PID NAME CPU_TICKS HWM_KB PSS_KB
#
# NAME is the command, and for a Postfix process its service (-n NAME) as
# well, e.g. "cleanup:cleanup_nochecks".  CPU_TICKS is user + system time
# of the process and of the children it has waited for, in clock ticks;
# HWM_KB its peak resident set (VmHWM); PSS_KB its proportional share of
# memory now (shared pages divided among their users; 0 when not readable).
use strict;
use warnings;

my (%sid, %pid);
while (@ARGV) {
    my $o = shift @ARGV;
    my $v = shift @ARGV;
    die "usage: procstat.pl [-s SID]... [-p PID]...\n" unless defined $v && $v =~ /^\d+$/;
    if ($o eq '-s') { $sid{$v} = 1 } elsif ($o eq '-p') { $pid{$v} = 1 } else { die "procstat.pl: unknown option $o\n" }
}

sub slurp {
    my ($path) = @_;
    open(my $fh, '<', $path) or return undef;
    local $/;
    my $d = <$fh>;
    return $d;
}

opendir(my $dh, '/proc') or die "procstat.pl: /proc: $!\n";
for my $p (sort { $a <=> $b } grep { /^\d+$/ } readdir $dh) {
    my $stat = slurp("/proc/$p/stat") // next;
    # the command may hold spaces and parentheses: split after the last ")"
    my ($comm, $rest) = $stat =~ /^\d+ \((.*)\) (.*)$/s or next;
    my @f = split ' ', $rest;    # $f[0] is field 3 (state)
    my $session = $f[3];
    next unless $pid{$p} || $sid{$session};
    my $ticks = $f[11] + $f[12] + $f[13] + $f[14];
    my $status = slurp("/proc/$p/status") // '';
    my ($hwm) = $status =~ /^VmHWM:\s+(\d+)/m;
    my $smaps = slurp("/proc/$p/smaps_rollup") // '';
    my ($pss) = $smaps =~ /^Pss:\s+(\d+)/m;
    my @argv = split /\0/, (slurp("/proc/$p/cmdline") // '');
    my $name = $comm;
    for my $i (0 .. $#argv - 1) {
        $name .= ":$argv[$i + 1]" if $argv[$i] eq '-n';
    }
    $name =~ s/\s/_/g;
    printf "%d %s %d %d %d\n", $p, $name, $ticks, $hwm // 0, $pss // 0;
}
