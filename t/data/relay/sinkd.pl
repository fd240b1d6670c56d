#!/usr/bin/perl
# sinkd.pl - a scriptable SMTP server that captures what it receives, for
# the relay tests' failure cases (the happy paths run against Postfix's own
# smtp-sink and a private Postfix).  One connection at a time.
#
#   perl sinkd.pl PORTFILE RULES DIR
#
# Binds 127.0.0.1 on a free port (written to PORTFILE), serves until
# killed.  Each accepted message is DIR/N.env (the client's EHLO/HELO,
# MAIL and RCPT commands as sent, one per line) and DIR/N.eml (the DATA as
# received, CRLF and dot-stuffing kept).  DIR/transcript gets one line per
# read from the client: the commands that arrived in that read, joined with
# "|" (so pipelining shows).  RULES is read again for every connection:
#
#   name NAME                  the host name in the greeting and EHLO reply
#   greeting CODE TEXT         the greeting (default 220 NAME ESMTP sinkd)
#   ehlo CODE TEXT             the reply to EHLO (a HELO must follow)
#   ext LINE, LINE...          EHLO reply lines after the name (default
#                              PIPELINING, 8BITMIME, DSN, ENHANCEDSTATUSCODES;
#                              "SIZE 100" is one line); "ext" alone: none
#   mail CODE TEXT             the reply to MAIL FROM
#   rcpt ADDRESS CODE TEXT     the reply to RCPT TO:<ADDRESS>
#   data CODE TEXT             the reply to DATA
#   dot CODE TEXT              the reply after the message
#   drop STAGE                 close the connection without a reply at
#                              greeting, ehlo, mail, rcpt, data or dot
#   starttls CODE TEXT         the reply to STARTTLS (offer it with "ext
#                              STARTTLS"); after a 220, garbage instead of a
#                              TLS handshake, and the connection closes
use strict;
use warnings;
use IO::Socket::INET;

my ($portfile, $rulesfile, $dir) = @ARGV;
die "usage: sinkd.pl PORTFILE RULES DIR\n" unless defined $dir;
mkdir $dir;
my $listen = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1', LocalPort => 0, ReuseAddr => 1)
    or die "sinkd: listen: $!\n";
open(my $pf, '>', "$portfile.tmp") or die "sinkd: $portfile: $!\n";
print $pf $listen->sockport, "\n";
close $pf;
rename("$portfile.tmp", $portfile) or die "sinkd: rename: $!\n";
$SIG{PIPE} = 'IGNORE';

my $count = 0;
while (my $c = $listen->accept) {
    session($c);
    close $c;
}

sub rules {
    my %r = (name => 'sink.test', ext => [qw(PIPELINING 8BITMIME DSN ENHANCEDSTATUSCODES)], rcpt => {}, drop => {});
    open(my $f, '<', $rulesfile) or return \%r;
    while (<$f>) {
        chomp;
        next if /^\s*(#|$)/;
        my ($k, $rest) = split(/\s+/, $_, 2);
        $rest //= '';
        if ($k eq 'ext') { $r{ext} = [grep { length } split /\s*,\s*/, $rest]; }
        elsif ($k eq 'rcpt') { my ($a, $reply) = split(/\s+/, $rest, 2); $r{rcpt}{lc $a} = $reply; }
        elsif ($k eq 'drop') { $r{drop}{$rest} = 1; }
        else { $r{$k} = $rest; }
    }
    close $f;
    return \%r;
}

sub transcript {
    open(my $t, '>>', "$dir/transcript") or return;
    print $t "@_\n";
    close $t;
}

sub session {
    my ($c) = @_;
    my $r = rules();
    my $buf = '';
    my ($helo, $mail, @rcpts, @accepted) = ('', '');
    my $out = sub { print $c "$_[0]\r\n"; };
    my $readline = sub {
        while ($buf !~ /\n/) {
            my $n = sysread($c, my $chunk, 65536);
            return undef unless $n;
            my @cmds = map { (split ' ', $_)[0] // '' } grep { length } split(/\r?\n/, $chunk);
            transcript(join('|', @cmds));
            $buf .= $chunk;
        }
        $buf =~ s/^([^\n]*)\n//;
        my $l = $1;
        $l =~ s/\r$//;
        return $l;
    };
    return if $r->{drop}{greeting};
    $out->($r->{greeting} // "220 $r->{name} ESMTP sinkd");
    return if ($r->{greeting} // '220') !~ /^2/;
    while (defined(my $line = $readline->())) {
        my ($verb) = map { uc } ($line =~ /^(\S+)/);
        $verb //= '';
        if ($verb eq 'EHLO') {
            return if $r->{drop}{ehlo};
            $helo = $line;
            if ($r->{ehlo}) { $out->($r->{ehlo}); next; }
            my @ext = @{ $r->{ext} };
            my @lines = ($r->{name}, @ext);
            for my $i (0 .. $#lines) {
                print $c "250" . ($i == $#lines ? ' ' : '-') . "$lines[$i]\r\n";
            }
        } elsif ($verb eq 'HELO') {
            $helo = $line;
            $out->("250 $r->{name}");
        } elsif ($verb eq 'MAIL') {
            return if $r->{drop}{mail};
            ($mail, @rcpts, @accepted) = ($line);
            $out->($r->{mail} // '250 2.1.0 Ok');
            $mail = '' unless ($r->{mail} // '250') =~ /^2/;
        } elsif ($verb eq 'RCPT') {
            return if $r->{drop}{rcpt};
            my ($addr) = $line =~ /<([^>]*)>/;
            my $reply = $r->{rcpt}{ lc($addr // '') } // '250 2.1.5 Ok';
            push @rcpts, $line;
            push @accepted, $line if $reply =~ /^2/ && $mail ne '';
            $out->($reply);
        } elsif ($verb eq 'DATA') {
            return if $r->{drop}{data};
            if (!@accepted) { $out->('554 5.5.1 Error: no valid recipients'); next; }
            if ($r->{data}) { $out->($r->{data}); next; }
            $out->('354 End data with <CR><LF>.<CR><LF>');
            my $data = '';
            while (1) {
                while ($buf !~ /\n/) {
                    my $n = sysread($c, my $chunk, 65536);
                    return unless $n;
                    $buf .= $chunk;
                }
                $buf =~ s/^([^\n]*\n)//;
                my $l = $1;
                last if $l eq ".\r\n" || $l eq ".\n";
                $data .= $l;
            }
            return if $r->{drop}{dot};
            my $reply = $r->{dot} // "250 2.0.0 Ok: queued as SINK" . ($count + 1);
            if ($reply =~ /^2/) {
                $count++;
                open(my $e, '>', "$dir/$count.env.tmp") or die;
                print $e "$helo\n$mail\n", map { "$_\n" } @accepted;
                close $e;
                open(my $m, '>', "$dir/$count.eml") or die;
                binmode $m;
                print $m $data;
                close $m;
                rename("$dir/$count.env.tmp", "$dir/$count.env");
            }
            $out->($reply);
            ($mail, @rcpts, @accepted) = ('');
        } elsif ($verb eq 'STARTTLS') {
            my $reply = $r->{starttls} // '220 2.0.0 Ready to start TLS';
            $out->($reply);
            next unless $reply =~ /^220/;
            transcript('TLS-GARBAGE');
            print $c "this is not a TLS server hello\r\n";
            return;
        } elsif ($verb eq 'RSET') {
            ($mail, @rcpts, @accepted) = ('');
            $out->('250 2.0.0 Ok');
        } elsif ($verb eq 'QUIT') {
            $out->('221 2.0.0 Bye');
            return;
        } elsif ($verb eq 'NOOP') {
            $out->('250 2.0.0 Ok');
        } else {
            $out->('502 5.5.2 Error: command not recognized');
        }
    }
}
