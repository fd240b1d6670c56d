#!/usr/bin/perl
# benchrows.pl - check that a "make bench" output has the rows it should,
# for t/800-819: each argument "NAME|METRIC" must appear as one row, the
# name and metric followed by three figures (ours, the peer's, the ratio),
# a verdict (better, same, WORSE) and n=REPETITIONS.  Prints one line per
# missing or malformed row; exits 1 if there is any.  With
# --cpu-may-be-zero, a row whose metric says CPU may have "-" for a ratio
# and "?" for a verdict (a figure under one clock tick in quick mode).
#
#   perl t/lib/benchrows.pl [--cpu-may-be-zero] OUTPUT 'NAME|METRIC'...
use strict;
use warnings;

my $cpu_zero = @ARGV && $ARGV[0] eq '--cpu-may-be-zero' ? shift @ARGV : 0;
my ($file, @rows) = @ARGV;
open(my $fh, '<', $file) or die "benchrows.pl: $file: $!\n";
my @lines = <$fh>;
my $num = qr/-?[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?/;
my $bad = 0;
for my $r (@rows) {
    my ($name, $metric) = split /\|/, $r, 2;
    my @hits = grep { /^\Q$name\E\s+\Q$metric\E\s/ } @lines;
    if (@hits != 1) {
        print "row '$name' / '$metric': found ", scalar(@hits), " times\n";
        $bad = 1;
        next;
    }
    my $ok = $hits[0] =~ /^\Q$name\E\s+\Q$metric\E\s+$num\s+$num\s+$num\s+(better|same|WORSE)\s+n=\d+$/;
    $ok ||= $cpu_zero && $metric =~ /CPU/
        && $hits[0] =~ /^\Q$name\E\s+\Q$metric\E\s+$num\s+$num\s+-\s+\?\s+n=\d+$/;
    unless ($ok) {
        print "row '$name' / '$metric' is malformed: $hits[0]";
        $bad = 1;
    }
}
exit $bad;
