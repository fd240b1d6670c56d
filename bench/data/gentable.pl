#!/usr/bin/perl
# gentable.pl - Postfix pcre: tables for the milterd benchmarks, the same
# text on every run.
#
#   perl bench/data/gentable.pl header N > header_checks
#   perl bench/data/gentable.pl body N > body_checks
#
# "header": N rules of the kinds real header_checks files collect over the
# years: sender domains, subject phrases, relays by address, mailer names,
# suspicious attachment names, a few IGNOREs.  "body": N rules of phrases
# and URLs.  Nearly all of them miss bench/data/genmail.pl's messages (the
# normal case: most mail is clean), so every line is tried against every
# rule; the few that hit are WARN, which logs and goes on.
use strict;
use warnings;

my ($kind, $n) = @ARGV;
die "usage: gentable.pl header|body N\n" unless defined $n && $kind =~ /^(header|body)$/;

my @w = qw(alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november
    oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu);
sub word { my ($i) = @_; return $w[$i % @w] . ($i >= @w ? int($i / @w) : '') }

print "# $kind checks made by bench/data/gentable.pl ($n rules)\n";
for my $i (0 .. $n - 1) {
    my $k = $i % 10;
    if ($kind eq 'body') {
        if ($k < 4) {
            printf "/\\b%s[[:space:]]+%s[[:space:]]+(offer|deal|prize)\\b/ REJECT 5.7.1 body phrase %d\n",
                word($i), word($i + 7), $i;
        } elsif ($k < 8) {
            printf "/https?:\\/\\/([a-z0-9-]+\\.)*%s-%s\\.(com|net|biz|info)\\b/ REJECT 5.7.1 listed URL %d\n",
                word($i), word($i * 3), $i;
        } elsif ($k == 8) {
            printf "/^<(iframe|object|embed)[^>]*%s/ REJECT 5.7.1 active content %d\n", word($i), $i;
        } else {
            printf "/\\bwire[[:space:]]+transfer[[:space:]]+to[[:space:]]+%s\\b/ HOLD body %d\n", word($i), $i;
        }
        next;
    }
    if ($k < 3) {
        printf "/^(From|Reply-To|Sender):.*@([a-z0-9-]+\\.)*%s-%s\\.(com|net|biz|info)\\b/ REJECT 5.7.1 sender domain %d\n",
            word($i), word($i * 5), $i;
    } elsif ($k < 6) {
        printf "/^Subject:.*\\b%s[[:space:]]+(%s|%s)[[:space:]]*(!|now|today)/ REJECT 5.7.1 subject %d\n",
            word($i), word($i + 3), word($i + 11), $i;
    } elsif ($k < 8) {
        printf "/^Received: from .*\\[10\\.%d\\.%d\\.[0-9]+\\]/ REJECT 4.7.1 relay %d\n", $i % 250, int($i / 250), $i;
    } elsif ($k == 8) {
        printf "/^(X-Mailer|User-Agent):.*\\b%s[[:space:]]*(mailer|sender|pro)\\b/ REJECT 5.7.1 mailer %d\n",
            word($i), $i;
    } elsif ($i % 20 == 9) {
        printf "/^Content-(Type|Disposition):.*name=\"?[^\"]*\\.%s\"?/ REJECT 5.7.1 attachment %d\n",
            substr(word($i), 0, 3) . 'x', $i;
    } else {
        printf "/^X-%s-%d:/ IGNORE\n", ucfirst(word($i)), $i;
    }
}
# A hit on every message, so both sides log one decision per message.
print "/^Message-ID:.*\\.bench\@/ WARN bench message\n" if $kind eq 'header';
