#!/usr/bin/perl
# procdiff-folders.pl - the folder-level differential test: one delivery
# recipe through the real procmail and the same delivery through procsort's
# folder writer alone (t/lib/procdiff-deliver), as the same unprivileged
# user; the folder trees, LASTFOLDER and the error log must be the same.
# Prints TAP, one line per case.
#
#   perl t/lib/procdiff-folders.pl LISTFILE
#
# LISTFILE has one case per line, fields separated by " | ":
#   name | flags | options | setup | folders | message
# flags    the recipe's action flags among h b r i (c is always added)
# options  -u UMASK  -p MSGPREFIX  -e LOCKEXT  -L (the ':' local lockfile)
#          -Y (Berkeley format)  -f SENDER
# setup    /bin/sh commands run as the user in HOME first ("" for none)
# folders  the action line
# message  a file in the list's directory (msgs/NAME), or "gen: COMMAND"
#          whose standard output is the message
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Path qw(remove_tree make_path);
use File::Spec;
use File::Temp qw(tempdir);

use lib dirname(__FILE__);
use procdiff;

my $top = dirname(dirname(dirname(File::Spec->rel2abs(__FILE__))));
$top = `cd '$top' && pwd`;
chomp $top;
my $helper = "$top/t/lib/procdiff-deliver";
my ($list) = @ARGV;
my $datadir = dirname($list);
my ($uid, $gid, $uname) = procdiff::test_user();
my $scratch = $ENV{T} ? tempdir("$ENV{T}/folders.XXXXXX") : tempdir(CLEANUP => 1);
chmod 0755, $scratch;

open(my $fh, '<', $list) or die "$list: $!\n";
my @cases;
while (<$fh>) {
    chomp;
    next if /^\s*(#|$)/;
    my @f = map { s/^\s+|\s+$//gr } split /\s\|\s/, $_, 6;
    die "$list:$.: want 6 fields\n" unless @f == 6;
    push @cases, \@f;
}
close $fh;

sub write_file {
    my ($path, $data, $mode) = @_;
    open(my $out, '>:raw', $path) or die "$path: $!\n";
    print $out $data;
    close $out;
    chmod $mode, $path if defined $mode;
}

print "1..", scalar(@cases), "\n";
my $n = 0;
my $failed = 0;
for my $c (@cases) {
    my ($name, $flags, $opts, $setup, $folders, $message) = @$c;
    $n++;
    my $dir = "$scratch/$name";
    make_path($dir);
    chmod 0755, $dir;
    my $msgfile = "$dir/message";
    if ($message =~ /^gen:\s*(.*)/) {
        system('/bin/sh', '-c', "cd '$datadir' && { $1\n} > '$msgfile'") == 0
            or die "$name: gen failed\n";
    } else {
        system('cp', "$datadir/msgs/$message", $msgfile) == 0 or die "$name: no message\n";
    }
    chmod 0644, $msgfile;
    my %o;
    my @w = split ' ', $opts;
    while (@w) {
        my $k = shift @w;
        $o{$k} = $k =~ /^-[upef]$/ ? shift @w : 1;
    }
    my $rc = "LOGFILE=errors\nLOCKSLEEP=1\n";
    $rc .= "UMASK=$o{-u}\n" if defined $o{-u};
    $rc .= "MSGPREFIX=$o{-p}\n" if defined $o{-p};
    $rc .= "LOCKEXT=$o{-e}\n" if defined $o{-e};
    $rc .= ":0 c$flags" . ($o{-L} ? ':' : '') . "\n$folders\n";
    $rc .= "LOGABSTRACT=no\nLOGFILE=lastfolder\nLOG=\"\$LASTFOLDER\n\"\n:0\n/dev/null\n";
    my @pmargs = ((defined $o{-Y} ? ('-Y') : ()), (defined $o{-f} ? ('-f', $o{-f}) : ()));
    my @hargs = (@pmargs, '-F', $flags, '-u', $o{-u} // '077', '-e', $o{-e} // '.lock',
        (defined $o{-p} ? ('-p', $o{-p}) : ()), ($o{-L} ? ('-L') : ()), split(' ', $folders));
    my %res;
    for my $who ('procmail', 'procsort') {
        my $run = "$dir/$who";
        procdiff::prepare($run, $uid, $gid);
        my $home = "$run/home";
        write_file("$run/rc", $rc, 0644);
        chown $uid, $gid, "$run/rc";
        my %env = (HOME => $home, PATH => '/usr/bin:/bin', LOGNAME => $uname, USER => $uname,
            SHELL => '/bin/sh', TZ => 'UTC', LANG => 'C');
        if ($setup ne '') {
            write_file("$run/setup.sh", $setup, 0644);
            procdiff::run_as($uid, $gid, argv => ['/bin/sh', '-e', "$run/setup.sh"], env => \%env,
                cwd => $home, stdout => "$run/setup.out", stderr => "$run/setup.out");
        }
        my @argv = $who eq 'procmail'
            ? ('/usr/bin/procmail', @pmargs, '-m', "HOME=$home", "MAILDIR=$home", "$run/rc")
            : ($helper, @hargs);
        my $exit = procdiff::run_as($uid, $gid, argv => \@argv, env => \%env, cwd => $home,
            stdin => $msgfile, stdout => "$run/stdout", stderr => "$run/stderr", timeout => 120);
        # the two runs are in different directories: show paths relative to RUN
        my ($list_text, $map) = procdiff::snapshot($run, prefixes => ["msg.", (defined $o{-p} ? ($o{-p}) : ())]);
        my $text = $list_text . "exit $exit\nstderr:\n"
            . procdiff::show(procdiff::normalise(procdiff::slurp("$run/stderr") // '', $map));
        $text =~ s/\Q$run\E/RUN/g;
        $res{$who} = $text;
    }
    my $desc = "$name: :0 c$flags" . ($o{-L} ? ':' : '') . " $folders" . ($opts ? " ($opts)" : '');
    if ($res{procmail} eq $res{procsort}) {
        print "ok $n - $desc\n";
    } else {
        $failed++;
        print "not ok $n - $desc\n";
        print map { "# $_\n" } split /\n/, procdiff::udiff($res{procmail}, $res{procsort}, 'procmail', 'procsort');
    }
    remove_tree($dir) unless $ENV{KEEP_TMP};
}
exit($failed ? 1 : 0);
