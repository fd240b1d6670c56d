#!/usr/bin/perl
# smtpchat.pl - a scripted SMTP client for mta-core's tests.
#
#   perl smtpchat.pl [-b BINDADDR] HOST PORT < script
#
# Script lines:
#   > text        send text, then CRLF
#   >> text       send text as is, after Perl escapes (\r \n \t \\ \xHH); no CRLF added
#   <             read one reply (all its lines) and print it
#   <*            read until the server closes (or 5 s of silence) and print it all
#   sleep N       wait N seconds (fractions allowed)
#   # comment, or an empty line
# Replies are printed as received, one line each, without the CR.  A
# reply that does not come within 10 seconds prints "TIMEOUT" and ends
# the script; a closed connection prints "CLOSED".
use strict;
use warnings;
use IO::Socket::IP;
use IO::Select;
use Time::HiRes qw(sleep time);

my $bind;
if (@ARGV && $ARGV[0] eq '-b') { shift; $bind = shift; }
my ($host, $port) = @ARGV;
my $s = IO::Socket::IP->new(PeerHost => $host, PeerPort => $port, Proto => 'tcp',
                            ($bind ? (LocalHost => $bind) : ()))
    or die "smtpchat: connect $host:$port: $@\n";
binmode $s;
$| = 1;
my $sel = IO::Select->new($s);
my $buf = '';
my $closed = 0;

sub fill {
    my ($wait) = @_;
    return 0 if $closed;
    return 0 unless $sel->can_read($wait);
    my $n = sysread($s, my $chunk, 65536);
    if (!$n) { $closed = 1; return 0; }
    $buf .= $chunk;
    return 1;
}

sub reply {
    for (;;) {
        while ($buf =~ s/^(\d\d\d)([ -])(.*?)\r?\n//) {
            print "$1$2$3\n";
            return 1 if $2 eq ' ';
        }
        if (!fill(10)) {
            print $closed ? "CLOSED\n" : "TIMEOUT\n";
            return 0;
        }
    }
}

while (my $line = <STDIN>) {
    chomp $line;
    next if $line =~ /^\s*(#|$)/;
    if ($line =~ /^>> (.*)$/s) {
        my $text = $1;
        $text =~ s/\\x([0-9a-fA-F]{2})/chr(hex($1))/ge;
        $text =~ s/\\r/\r/g; $text =~ s/\\n/\n/g; $text =~ s/\\t/\t/g; $text =~ s/\\\\/\\/g;
        syswrite($s, $text);
    } elsif ($line =~ /^> ?(.*)$/s) {
        syswrite($s, "$1\r\n");
    } elsif ($line eq '<') {
        reply() or last;
    } elsif ($line eq '<*') {
        while (fill(5)) { }
        $buf =~ s/\r//g;
        print $buf;
        print "CLOSED\n" if $closed;
        $buf = '';
    } elsif ($line =~ /^sleep ([\d.]+)$/) {
        sleep($1);
    } else {
        die "smtpchat: bad script line: $line\n";
    }
}
