#!/usr/bin/perl
# procdiff-imap.pl - a tiny IMAP4rev1 client for the Dovecot test: log in,
# then run each command given and print the server's untagged answers and
# literals in a form a shell test can check.
#
#   perl t/lib/procdiff-imap.pl PORT USER PASSWORD COMMAND...
#
# Each COMMAND is sent with its own tag; "* " lines are printed as they
# come, a literal {N} is printed as "LITERAL N SHA1" followed by the bytes
# when OUTDIR is set in the environment (written to OUTDIR/lit.K).  Exits 1
# when a command does not end in OK, with the server's reply on stderr.
use strict;
use warnings;
use IO::Socket::INET;
use Digest::SHA qw(sha1_hex);

my ($port, $user, $pass, @cmds) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp',
    Timeout => 10) or die "connect: $!\n";
$s->autoflush(1);
my $greet = <$s>;
die "no greeting\n" unless defined $greet && $greet =~ /^\* OK/;
my $tag = 0;
my $lit = 0;

sub command {
    my ($cmd) = @_;
    my $t = sprintf('a%03d', ++$tag);
    print $s "$t $cmd\r\n";
    while (defined(my $line = <$s>)) {
        if ($line =~ /\{(\d+)\}\r\n\z/) {
            my $n = $1;
            my $data = '';
            while (length($data) < $n) {
                my $got = read($s, my $chunk, $n - length($data));
                die "short literal\n" unless $got;
                $data .= $chunk;
            }
            $line =~ s/\{\d+\}\r\n\z//;
            print $line, "LITERAL $n ", sha1_hex($data), "\n";
            if ($ENV{OUTDIR}) {
                $lit++;
                open(my $fh, '>:raw', "$ENV{OUTDIR}/lit.$lit") or die;
                print $fh $data;
                close $fh;
            }
            next;
        }
        if ($line =~ /^\Q$t\E (OK|NO|BAD)/) {
            return 1 if $1 eq 'OK';
            print STDERR "$cmd: $line";
            return 0;
        }
        $line =~ s/\r\n\z/\n/;
        print $line;
    }
    die "connection closed\n";
}

my $ok = command("LOGIN $user $pass");
for my $c (@cmds) {
    last unless $ok;
    $ok = command($c);
}
command('LOGOUT');
exit($ok ? 0 : 1);
