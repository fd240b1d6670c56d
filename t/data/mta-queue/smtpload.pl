#!/usr/bin/perl
# smtpload.pl - many SMTP sessions at once, each sending several messages.
#
#   perl smtpload.pl HOST PORT CLIENTS MESSAGES DOMAIN USERS
#
# CLIENTS processes connect at the same time (they wait for each other
# first); each sends MESSAGES messages over its one connection, to
# userN@DOMAIN (N = client number modulo USERS), each with a unique
# "Subject: load C-M".  Prints "C-M QUEUEID" for every message accepted;
# exits 1 (saying why on stderr) if any session or reply went wrong.
use strict;
use warnings;
use IO::Socket::IP;
use Time::HiRes qw(sleep);

my ($host, $port, $clients, $messages, $domain, $users) = @ARGV;
die "usage: smtpload.pl HOST PORT CLIENTS MESSAGES DOMAIN USERS\n" unless defined $users;
$| = 1;

sub session {
    my ($c) = @_;
    my $s = IO::Socket::IP->new(PeerHost => $host, PeerPort => $port, Proto => 'tcp', Timeout => 30)
        or return "client $c: connect: $@";
    binmode $s;
    my $reply = sub {
        my $text = '';
        while (defined(my $line = <$s>)) {
            $text .= $line;
            return $text if $line =~ /^\d\d\d /;
        }
        return "CLOSED\n$text";
    };
    my $expect = sub {
        my ($code, $what) = @_;
        my $r = $reply->();
        die "client $c: $what: expected $code, got: $r" unless $r =~ /^$code /m;
        return $r;
    };
    my @out;
    eval {
        local $SIG{ALRM} = sub { die "client $c: timeout\n" };
        alarm 120;
        $expect->(220, 'greeting');
        print $s "EHLO load$c.test\r\n";
        $expect->(250, 'EHLO');
        my $rcpt = 'user' . ($c % $users) . '@' . $domain;
        for my $m (1 .. $messages) {
            print $s "MAIL FROM:<load$c\@example.org>\r\n";
            $expect->(250, 'MAIL');
            print $s "RCPT TO:<$rcpt>\r\n";
            $expect->(250, 'RCPT');
            print $s "DATA\r\n";
            $expect->(354, 'DATA');
            print $s "From: <load$c\@example.org>\r\nTo: <$rcpt>\r\nSubject: load $c-$m\r\n\r\n"
                . "message $m of client $c\r\n.\r\n";
            my $r = $expect->(250, 'end of DATA');
            my ($id) = $r =~ /queued as (\S+)/;
            die "client $c: no queue id in: $r" unless $id;
            push @out, "$c-$m $id\n";
        }
        print $s "QUIT\r\n";
        $expect->(221, 'QUIT');
        alarm 0;
    };
    alarm 0;
    return $@ if $@;
    print @out;
    return '';
}

# Everyone connects at about the same moment.
pipe(my $gate_r, my $gate_w) or die "pipe: $!\n";
my %kids;
for my $c (0 .. $clients - 1) {
    my $pid = fork();
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        close $gate_w;
        my $go = <$gate_r>; # blocks until the parent closes the gate
        my $err = session($c);
        if ($err) { print STDERR $err; exit 1; }
        exit 0;
    }
    $kids{$pid} = $c;
}
close $gate_r;
sleep 0.2;
close $gate_w;
my $failed = 0;
while ((my $pid = wait()) > 0) {
    $failed++ if $?;
}
exit($failed ? 1 : 0);
