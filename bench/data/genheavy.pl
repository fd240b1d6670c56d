#!/usr/bin/perl
# genheavy.pl - a procmailrc that is heavy on regular expressions, for the
# procsort benchmark: 60 recipes that nearly every message runs all the
# way through before it reaches DEFAULT (a Maildir).
#
#   perl bench/data/genheavy.pl > heavy.rc
#
#    1-20  Subject/From: long word alternations with \< \> (case-insensitive)
#   21-30  ^TO_ (procmail's big address-header macro) with alternations
#   31-40  body lines: optional quote prefix, two alternations in a row
#   41-50  scoring: -N^0 then 1^1 (count every match) over header and body
#   51-60  nested groups and classes over the whole message (HB)
#
# The same text on every run (words picked in a fixed order), so both
# programs always see the same rc.
use strict;
use warnings;

my @w = qw(
    viagra casino lottery winner prize bonus jackpot refinance mortgage credit pharmacy pills
    replica rolex discount clearance bargain cheap unclaimed inheritance beneficiary diplomat
    transfer western union bitcoin crypto investment profit guaranteed risk free trial offer
    unsubscribe remove optout opt-out bulk newsletter promotion limited exclusive deal
    urgent immediately confidential verify suspend password login security alert update
    invoice payment overdue refund claim parcel delivery customs shipment tracking
    weight loss diet miracle cure doctor herbal natural supplement enlargement dating singles
    adult webcam hot girls meet tonight congratulations selected survey reward gift card);

my $i = 0;
sub words {
    my ($n) = @_;
    my @out;
    for (1 .. $n) { push @out, $w[$i++ % @w] }
    return join '|', map { quotemeta($_) =~ s/\\-/-/gr } @out;
}

print "# heavy.rc - made by bench/data/genheavy.pl; see there.\n";
print "SHELL=/bin/sh\nMAILDIR=\$HOME/Mail\nDEFAULT=\$MAILDIR/inbox/\nLOGFILE=\$HOME/procmail.log\n\n";

for my $n (1 .. 20) {
    my $hdr = $n % 2 ? 'Subject' : '(From|Reply-To|Sender)';
    print ":0\n* ^$hdr:.*\\<(" . words(30) . ")\\>.*\\<(" . words(8) . ")\\>\nheavy/subject-$n/\n\n";
}
for my $n (21 .. 30) {
    print ":0\n* ^TO_(" . words(6) . ")[-.+_a-z0-9]*@([a-z0-9-]+\\.)*(" . words(4) . ")\\.(com|net|org|biz)\n"
        . "heavy/to-$n/\n\n";
}
for my $n (31 .. 40) {
    print ":0 B\n* ^(> *)*[^a-z]*(" . words(15) . ")[ \t]+([a-z]+[ \t]+)?(" . words(10) . ")\\>\n"
        . "heavy/body-$n/\n\n";
}
for my $n (41 .. 50) {
    print ":0 HB\n* -400^0\n* 1^1 \\<(" . words(12) . ")\\>\n* 1^1 ^[^:]+:.*\\<(" . words(6) . ")\n"
        . "heavy/score-$n/\n\n";
}
for my $n (51 .. 60) {
    print ":0 HB\n* ((" . words(5) . ")[ ,.;:!]+){2,}(" . words(5) . ")\n"
        . "* ^Content-Type:.*(text/html|multipart/(alternative|mixed))\n"
        . "heavy/nested-$n/\n\n";
}
