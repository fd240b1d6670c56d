#!/usr/bin/perl
# genmail.pl - the messages the benchmarks deliver, made the same way on
# every run (a fixed seed), so that figures from two runs are comparable.
#
#   perl bench/data/genmail.pl DIR [BIGSIZE]
#
# Writes DIR/NN-kind.msg: 14 messages of the kinds a personal mailbox
# gets (mailing lists, a kernel patch, spam, work mail with a PDF, a
# receipt, a bounce, an executable attachment, plain personal mail ...),
# each with a realistic header (Received chain, DKIM signature, List-*
# headers), 2 KB to 60 KB; each starts with a From_ line as an MTA hands
# it to procmail.  And DIR/big.msg: one multipart message of BIGSIZE bytes (default 5 MB),
# nearly all of it a base64 attachment, text before and after it.
# bench/data/realistic.rc sends each kind to its folder.
use strict;
use warnings;

my ($dir, $bigsize) = @ARGV;
die "usage: genmail.pl DIR [BIGSIZE]\n" unless defined $dir;
$bigsize //= 5 * 1024 * 1024;
-d $dir or mkdir $dir or die "genmail.pl: $dir: $!\n";

# A small linear congruential generator: the same bytes on every perl.
my $seed = 20240501;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed / 2147483648 }
sub pick { return $_[int(rnd() * @_)] }

my @words = qw(the of and to in is that for it as was with be by on not he this are or his from at which
    but have an they you were her she there one all we their has been if more when will would who so no
    queue delivery message header server client filter recipe folder lock mailbox table pattern match
    kernel patch driver memory release build test config option value network socket thread process
    meeting project budget review report schedule customer contract invoice order shipment account);

sub sentence {
    my $n = 6 + int(rnd() * 10);
    my $s = join ' ', map { pick(@words) } 1 .. $n;
    return ucfirst($s) . '.';
}

# paragraph text of about LEN bytes, lines under 76 columns
sub text {
    my ($len) = @_;
    my ($out, $line) = ('', '');
    while (length($out) < $len) {
        for my $w (split / /, sentence()) {
            if (length($line) + length($w) + 1 > 72) {
                $out .= "$line\n";
                $line = '';
            }
            $line .= ($line eq '' ? '' : ' ') . $w;
        }
        if (rnd() < 0.2) {
            $out .= "$line\n\n";
            $line = '';
        }
    }
    return $out . ($line eq '' ? '' : "$line\n");
}

# base64 text for LEN bytes: lines drawn from a pool of 512 random lines
# (a 5 MB attachment in a second, and no two neighbours alike)
my @b64 = ('A' .. 'Z', 'a' .. 'z', '0' .. '9', '+', '/');
my @pool = map { join('', map { $b64[int(rnd() * 64)] } 1 .. 76) } 1 .. 512;
sub base64_block {
    my ($len) = @_;
    my $out = '';
    my $chars = int($len * 4 / 3);
    while ($chars > 0) {
        my $n = $chars > 76 ? 76 : $chars;
        $out .= substr($pool[int(rnd() * @pool)], 0, $n) . "\n";
        $chars -= $n;
    }
    return $out;
}

my $n = 0;
sub received_chain {
    my ($from_host, $ip) = @_;
    my $mm = sprintf('%02d', $n);
    my @hops = ("from $from_host ($from_host [$ip])\n\tby mx1.home.example (Postfix) with ESMTPS id 4Vx${n}Kq2\n"
            . "\tfor <me\@home.example>; Wed, 1 May 2024 10:$mm:11 +0000 (UTC)",
        "from mail-out.relay.example (mail-out.relay.example [192.0.2.$n])\n\tby $from_host with ESMTP id s41A${n}bQ\n"
            . "\tWed, 1 May 2024 10:$mm:10 +0000",
        "from localhost (localhost [127.0.0.1])\n\tby mail-out.relay.example (8.17.1/8.17.1) with SMTP id 441A${n}9\n"
            . "\tWed, 1 May 2024 10:$mm:09 +0000");
    return join '', map { "Received: $_\n" } @hops;
}

sub dkim {
    my ($domain) = @_;
    return "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=$domain; s=sel1;\n"
        . "\th=from:to:subject:date:message-id; bh=" . base64_block(32) =~ s/\n//gr . ";\n"
        . "\tb=" . base64_block(180) =~ s/\n\z//r =~ s/\n/\n\t/gr . "\n";
}

# message KIND FROM TO SUBJECT EXTRA-HEADERS BODY [IP]
sub message {
    my (%m) = @_;
    $n++;
    my ($domain) = $m{from} =~ /@([^>\s]+)/;
    my $ip = $m{ip} // "198.51.100.$n";
    my $mm = sprintf('%02d', $n);
    my $msg = "From $m{envfrom} Wed May  1 10:$mm:12 2024\n"
        . "Return-Path: <$m{envfrom}>\n"
        . "Delivered-To: me\@home.example\n"
        . received_chain($m{host} // "mail.$domain", $ip)
        . dkim($domain)
        . "From: $m{from}\nTo: $m{to}\nSubject: $m{subject}\n"
        . "Date: Wed, 1 May 2024 10:$mm:08 +0000\n"
        . "Message-ID: <$n.202405011$mm.bench\@$domain>\n"
        . ($m{headers} // '')
        . "\n" . $m{body};
    my $file = sprintf('%s/%02d-%s.msg', $dir, $n, $m{kind});
    open(my $fh, '>', $file) or die "genmail.pl: $file: $!\n";
    print $fh $msg;
    close $fh or die "genmail.pl: $file: $!\n";
}

sub multipart {
    my ($boundary, @parts) = @_;
    my $out = "This is a multi-part message in MIME format.\n";
    for my $p (@parts) {
        $out .= "\n--$boundary\n$p->[0]\n$p->[1]";
    }
    return $out . "\n--$boundary--\n";
}

my $list_headers = sub {
    my ($id, $post) = @_;
    return "List-Id: <$id>\nList-Post: <mailto:$post>\nList-Unsubscribe: <mailto:$post?subject=unsubscribe>\n"
        . "Precedence: list\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n";
};

message(kind => 'debian', envfrom => 'debian-devel-bounces@lists.debian.org',
    from => 'Ann Developer <ann@debian.example>', to => 'debian-devel@lists.debian.org',
    subject => 'Re: Proposal: default init for the next release',
    headers => $list_headers->('debian-devel.lists.debian.org', 'debian-devel@lists.debian.org'),
    body => text(3000));
message(kind => 'lkml', envfrom => 'linux-kernel+bounces@vger.kernel.org',
    from => 'Kernel Hacker <hacker@kernel.example>', to => 'linux-kernel@vger.kernel.org',
    subject => '[PATCH v3 2/7] mm: fix a race in the page cache',
    headers => $list_headers->('linux-kernel.vger.kernel.org', 'linux-kernel@vger.kernel.org'),
    body => text(1500) . "---\n" . join('', map { "+\t" . sentence() . "\n-\t" . sentence() . "\n" } 1 .. 60));
message(kind => 'postfix', envfrom => 'owner-postfix-users@postfix.org',
    from => 'Wietse <wietse@porcupine.example>', to => 'Postfix users <postfix-users@postfix.org>',
    subject => 'Re: smtpd_milters and header_checks order',
    headers => "Sender: owner-postfix-users\@postfix.org\nPrecedence: bulk\n",
    body => text(2500));
message(kind => 'otherlist', envfrom => 'bounce@lists.example.org',
    from => 'Someone <someone@example.org>', to => 'hiking@lists.example.org',
    subject => 'Saturday trip: who is driving?',
    headers => $list_headers->('hiking.lists.example.org', 'hiking@lists.example.org'),
    body => text(1800));
message(kind => 'spam', envfrom => 'promo@winner.example.biz', host => 'dsl-pool-77.dynamic.example.net',
    from => '"Lottery Office" <promo@winner.example.biz>', to => 'undisclosed-recipients:;',
    subject => 'Congratulations WINNER: claim your lottery prize today', ip => '203.0.113.77',
    headers => "MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"alt1\"\n",
    body => multipart('alt1', ["Content-Type: text/plain\n", text(800) . "Click here to claim. Act now!\n"],
        ["Content-Type: text/html\n", "<html><body><p>" . text(1500) . "</p><a href=\"http://x.example/\">click here</a></body></html>\n"]));
message(kind => 'flagged', envfrom => 'news@shop.example.info',
    from => 'Deals <news@shop.example.info>', to => 'me@home.example',
    subject => 'Weekly deals',
    headers => "X-Spam-Flag: YES\nX-Spam-Status: Yes, score=7.2 required=5.0 tests=HTML_MESSAGE,URIBL\n",
    body => text(2000));
message(kind => 'urgent', envfrom => 'boss@mycompany.com',
    from => 'The Boss <boss@mycompany.com>', to => 'me@home.example',
    subject => '[urgent] customer contract review before noon', body => text(1200));
message(kind => 'work', envfrom => 'colleague@mycompany.com',
    from => 'A Colleague <colleague@mycompany.com>', to => 'team@mycompany.com',
    subject => 'Quarterly report draft',
    headers => "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"mix1\"\n",
    body => multipart('mix1', ["Content-Type: text/plain; charset=us-ascii\n", text(1500)],
        ["Content-Type: application/pdf; name=\"report.pdf\"\nContent-Transfer-Encoding: base64\n"
            . "Content-Disposition: attachment; filename=\"report.pdf\"\n", base64_block(40000)]));
message(kind => 'family', envfrom => 'mom@family.example',
    from => 'Mom <mom@family.example>', to => 'me@home.example',
    subject => 'Sunday lunch', body => text(900));
message(kind => 'receipt', envfrom => 'orders@bookshop.example',
    from => 'Book Shop <orders@bookshop.example>', to => 'me@home.example',
    subject => 'Your order confirmation #1234-5678', body => text(1600));
message(kind => 'exe', envfrom => 'invoice@billing.example',
    from => 'Billing <invoice@billing.example>', to => 'me@home.example',
    subject => 'Invoice attached',
    headers => "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"mix2\"\n",
    body => multipart('mix2', ["Content-Type: text/plain\n", text(400)],
        ["Content-Type: application/octet-stream; name=\"invoice.exe\"\nContent-Transfer-Encoding: base64\n"
            . "Content-Disposition: attachment; filename=invoice.exe\n", base64_block(12000)]));
message(kind => 'bounce', envfrom => 'MAILER-DAEMON', from => 'Mail Delivery System <MAILER-DAEMON@mx.example>',
    to => 'me@home.example', subject => 'Undelivered Mail Returned to Sender', host => 'mx.example',
    headers => "Auto-Submitted: auto-replied\n", body => text(1500));
message(kind => 'personal', envfrom => 'friend@friends.example',
    from => 'A Friend <friend@friends.example>', to => 'me@home.example',
    subject => 'Photos from the weekend', body => text(2200));
message(kind => 'meeting', envfrom => 'calendar@mycalendar.example',
    from => 'Calendar <calendar@mycalendar.example>', to => 'me@home.example',
    subject => 'Invitation: project meeting agenda', body => text(1300));

# The big one: a personal message with a large attachment.
{
    my $file = "$dir/big.msg";
    open(my $fh, '>', $file) or die "genmail.pl: $file: $!\n";
    print $fh "From friend\@friends.example Wed May  1 11:00:00 2024\n"
        . "Return-Path: <friend\@friends.example>\n" . received_chain('mail.friends.example', '198.51.100.99')
        . "From: A Friend <friend\@friends.example>\nTo: me\@home.example\nSubject: the video, as promised\n"
        . "Date: Wed, 1 May 2024 11:00:00 +0000\nMessage-ID: <big.bench\@friends.example>\n"
        . "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"big1\"\n\n"
        . multipart('big1', ["Content-Type: text/plain\n", text(1000)],
            ["Content-Type: video/mp4; name=\"clip.mp4\"\nContent-Transfer-Encoding: base64\n"
                . "Content-Disposition: attachment; filename=\"clip.mp4\"\n", base64_block(int($bigsize * 3 / 4))],
            ["Content-Type: text/plain\n", text(500)]);
    close $fh or die "genmail.pl: $file: $!\n";
}
