#!/usr/bin/perl
# manopts.pl - the command-line options a program accepts, read from its
# source, and the options and commands its mdoc man page documents; for
# t/705-man-options.t.
#
#   perl t/lib/manopts.pl accepted MAIN.c    one item per line:
#       -x     a letter option (getopt string, or "case 'x':" in the parser)
#       -x:    a letter option that takes an argument (getopt's "x:")
#       --word a long option compared with strcmp(argv[...], "--word")
#       cmd:w  a command word compared with strcmp(cmd, "w")
#     read from MAIN.c and from every .c file next to it that defines a
#     function MAIN.c calls with (argc, argv, ...): the parser, wherever
#     the program keeps it.
#   perl t/lib/manopts.pl documented PAGE    the same items, from the page's
#     mdoc macro lines outside SYNOPSIS (a synopsis names an option, it does
#     not explain it): each "Fl word" gives -word ("Fl \-word" gives --word)
#     and each "Cm word" gives cmd:word.
use strict;
use warnings;
use File::Basename qw(dirname);

sub slurp {
    my ($f) = @_;
    open(my $fh, '<', $f) or die "$f: $!\n";
    local $/;
    my $t = <$fh>;
    close $fh;
    return $t;
}

# The files that parse the command line: MAIN.c and the callees of (argc, argv).
sub sources {
    my ($main) = @_;
    my $text = slurp($main);
    my @files = ($main);
    my %called = map { $_ => 1 } $text =~ /\b(\w+)\s*\(\s*argc\s*,\s*argv\b/g;
    delete @called{qw(getopt getopt_long main)};
    for my $f (glob(dirname($main) . '/*.c')) {
        next if $f eq $main;
        my $t = slurp($f);
        for my $fn (keys %called) {
            if ($t =~ /^\w[\w \t\*]*\b\Q$fn\E\s*\(\s*int\s+argc\b/m) {
                push @files, $f;
                last;
            }
        }
    }
    return @files;
}

sub accepted {
    my ($main) = @_;
    my %items;
    for my $f (sources($main)) {
        my $t = slurp($f);
        # getopt strings: letters, ':' after one that takes an argument
        while ($t =~ /\bgetopt(?:_long)?\s*\(\s*argc\s*,\s*argv\s*,\s*"([^"]*)"/g) {
            my $s = $1;
            $s =~ s/^[+-]//;
            while ($s =~ /([A-Za-z0-9])(:?)/g) {
                $items{"-$1" . ($2 ? ':' : '')} = 1;
            }
        }
        # a hand-written parser (procmail's style): case 'x': in a function
        # that walks argv, outside any getopt loop
        unless ($t =~ /\bgetopt(?:_long)?\s*\(/) {
            $items{"-$1"} = 1 while $t =~ /\bcase\s+'([A-Za-z0-9])'\s*:/g;
        }
        $items{$1} = 1 while $t =~ /strcmp\s*\(\s*argv\[[^\]]*\]\s*,\s*"(--[a-z][-a-z0-9]*)"/g;
        $items{"cmd:$1"} = 1 while $t =~ /strcmp\s*\(\s*cmd\s*,\s*"([a-z][-a-z0-9]*)"/g;
    }
    # An option that takes an argument is also listed without the ':'.
    for (keys %items) {
        $items{$1} = 1 if /^(-.):$/;
    }
    return sort keys %items;
}

sub documented {
    my ($page) = @_;
    my %items;
    my $section = '';
    for my $line (split /\n/, slurp($page)) {
        $section = $1, next if $line =~ /^\.Sh\s+(.*?)\s*$/;
        next if $section eq 'SYNOPSIS' || $line !~ /^\.[A-Z]/;
        my @w = split ' ', $line;
        my $mode = '';
        for my $w (@w) {
            $w =~ s/^\.//;
            if ($w =~ /^(?:[A-Z][a-z]{1,2}|Ns)$/) {
                $mode = $w eq 'Fl' ? 'Fl' : $w eq 'Cm' ? 'Cm' : '';
                next;
            }
            next if $w =~ /^[|,;:.()\[\]]$/;
            (my $word = $w) =~ s/\\-/-/g;
            $word =~ s/\\&//g;
            $word =~ s/[,;:.)]+$//;
            $items{"-$word"} = 1 if $mode eq 'Fl';
            $items{"cmd:$word"} = 1 if $mode eq 'Cm' && $word =~ /^[a-z][-a-z0-9]*$/;
        }
    }
    return sort keys %items;
}

my ($what, $file) = @ARGV;
die "usage: manopts.pl accepted MAIN.c | documented PAGE\n" unless $what && $file;
print "$_\n" for $what eq 'accepted' ? accepted($file) : documented($file);
