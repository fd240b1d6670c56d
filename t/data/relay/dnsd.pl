#!/usr/bin/perl
# dnsd.pl - a tiny authoritative DNS responder for the relay tests, so that
# MX lookups never leave the machine: mta-core is pointed at it with
# dns_server_address = 127.0.0.1:PORT.
#
#   perl dnsd.pl PORTFILE ZONEFILE
#
# Binds UDP 127.0.0.1 on a free port, writes the port to PORTFILE, answers
# until killed.  ZONEFILE lines (read again for every question, so a test
# may change it while the responder runs):
#
#   name  MX    pref host      an MX record (host "." is a null MX)
#   name  A     1.2.3.4
#   name  AAAA  ::1
#   name  SERVFAIL             every question about name fails (try again)
#
# A name with records but none of the type asked is NODATA; a name not in
# the file is NXDOMAIN.  Questions are logged to stderr as "name TYPE".
use strict;
use warnings;
use IO::Socket::INET;
use Socket qw(inet_aton inet_pton AF_INET6);

my ($portfile, $zonefile) = @ARGV;
die "usage: dnsd.pl PORTFILE ZONEFILE\n" unless defined $zonefile;

my $sock = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1', LocalPort => 0)
    or die "dnsd: bind: $!\n";
open(my $pf, '>', "$portfile.tmp") or die "dnsd: $portfile: $!\n";
print $pf $sock->sockport, "\n";
close $pf;
rename("$portfile.tmp", $portfile) or die "dnsd: rename: $!\n";
$| = 1;

my %type_code = (A => 1, MX => 15, AAAA => 28);
my %code_type = reverse %type_code;

sub load_zone {
    my %zone;
    open(my $z, '<', $zonefile) or return \%zone;
    while (<$z>) {
        s/#.*//;
        my @f = split;
        next unless @f >= 2;
        my $name = lc $f[0];
        $name =~ s/\.$//;
        push @{ $zone{$name} }, [uc $f[1], @f[2 .. $#f]];
    }
    close $z;
    return \%zone;
}

sub encode_name {
    my ($name) = @_;
    return "\0" if $name eq '.' || $name eq '';
    $name =~ s/\.$//;
    return join('', map { chr(length $_) . $_ } split /\./, $name) . "\0";
}

while (1) {
    my $peer = $sock->recv(my $q, 4096);
    next unless defined $peer && length($q) >= 12;
    my ($id, $flags, $qd) = unpack('n n n', $q);
    next unless $qd == 1;
    # The question: labels, then type and class.
    my ($pos, @labels) = (12);
    while ($pos < length $q) {
        my $len = ord substr($q, $pos, 1);
        $pos++;
        last if $len == 0;
        push @labels, substr($q, $pos, $len);
        $pos += $len;
    }
    next if $pos + 4 > length $q;
    my ($qtype, $qclass) = unpack('n n', substr($q, $pos, 4));
    my $question = substr($q, 12, $pos + 4 - 12);
    my $name = lc join('.', @labels);
    my $tname = $code_type{$qtype} // $qtype;
    print STDERR "$name $tname\n";

    my $zone = load_zone();
    my $rcode = 0;
    my @answers;
    if (!exists $zone->{$name}) {
        $rcode = 3;    # NXDOMAIN
    } elsif (grep { $_->[0] eq 'SERVFAIL' } @{ $zone->{$name} }) {
        $rcode = 2;
    } else {
        for my $rr (@{ $zone->{$name} }) {
            next unless ($type_code{ $rr->[0] } // -1) == $qtype;
            my $rdata;
            if ($rr->[0] eq 'A') {
                $rdata = inet_aton($rr->[1]);
            } elsif ($rr->[0] eq 'AAAA') {
                $rdata = inet_pton(AF_INET6, $rr->[1]);
            } else {
                $rdata = pack('n', $rr->[1]) . encode_name($rr->[2]);
            }
            push @answers, pack('n n n N n', 0xC00C, $qtype, 1, 60, length $rdata) . $rdata;
        }
    }
    # QR, the opcode and RD as asked, AA, RA.
    my $rflags = 0x8000 | ($flags & 0x7900) | 0x0400 | 0x0080 | $rcode;
    my $reply = pack('n n n n n n', $id, $rflags, 1, scalar @answers, 0, 0) . $question . join('', @answers);
    $sock->send($reply, 0, $peer);
}
