#!/usr/bin/perl
# procdiff.pl - the differential suite: run each rc/message case through the
# real procmail and through procsort, as the same unprivileged user with the
# same environment, and compare what they did.  Prints TAP, one line per case,
# with a diff of the two results on failure.
#
#   perl t/lib/procdiff.pl [--impl PROGRAM] [--ref PROGRAM] [--keep DIR] [--jobs N]
#                          CASE...
#
# A case is one file (t/data/procsort/cases/NAME.case): a comment, then
# sections, each started by a line "=== NAME":
#
#   # what the case shows (first line: the TAP description)
#   === rc           the rcfile (written to RUN/rc, owned by the user)
#   === msg          the message, up to the next "=== " line; the newline
#                    before that line belongs to the message
#   === msg-gen      instead of msg: a shell command whose stdout is the
#                    message (run by /bin/sh in the case's data directory);
#                    for NUL bytes, CRLF, no final newline, huge messages
#   === args         the command line, one shell-like line; @VARS@ and @RC@
#                    stand for the harness's assignments and the rcfile
#                    (default: "@VARS@ @RC@")
#   === env          VAR=value lines added to the environment both start with
#   === setup        /bin/sh commands run as the user in HOME before delivery
#   === check        /bin/sh commands run as the user in HOME after procmail
#                    ran: they must succeed, so the case shows what it says
#   === ignore       a Perl regex of paths (as shown in the listing) to leave
#                    out of the comparison, e.g. ^home/log$ for a verbose log
#   === root-setup   /bin/sh commands run as root before delivery, with
#                    RCPT, SPOOL (/var/mail/$RCPT) and HOME set: for -d cases
#   === prefix       extra MSGPREFIX values whose directory names are unique;
#                    DIR:PREFIX for one directory only (home/DIR; PREFIX may be empty)
#   === stdout       "ignore" to leave stdout out of the comparison
#
# Each program runs in RUN = a fresh directory with:
#   RUN/home   HOME and MAILDIR, owned by the user; the folders go here
#   RUN/sent   what $SENDMAIL (RUN/bin/sendmail, a recorder) was given:
#              one file per call, its argv on the first line, then stdin
#   RUN/rc     the rcfile
# and this environment (procmail resets most of it; the assignments on its
# command line, @VARS@, set the rest):
#   env:  HOME PATH=/usr/local/bin:/usr/bin:/bin LOGNAME USER SHELL=/bin/sh TZ=UTC LANG=C
#   @VARS@: HOME=RUN/home MAILDIR=RUN/home ORGMAIL=RUN/home/orgmail
#           DEFAULT=RUN/home/orgmail SENDMAIL=RUN/bin/sendmail
# A case whose args have -d is a delivery as root (@USER@ names the
# recipient made for it): it is skipped
# unless we are root.  Otherwise every command of the case (root-setup,
# setup, the program, check) runs in a private mount namespace where
# RUN/spool (root:mail 2775, empty) is /var/mail and /etc/passwd and
# /etc/group are copies with the recipient added (procdiff.pm make_rcpt,
# rcpt_files: home RUN/home, where the rc section goes as .procmailrc;
# a member of a second group too).  Nothing outside the namespace
# changes, so cases may run side by side.  Both programs run as root, and
# RUN/spool is compared too, with owners, groups and modes.
#
# Both programs run at the same RUN path, one after the other, so paths in
# logs and LASTFOLDER are the same.  Compared: the listing of home/ and sent/
# (procdiff.pm snapshot), the exit code, stdout and stderr, all normalised
# only for dates, pids, the program's name and unique file names, after
# procsort's deliberate differences from procmail are made comparable, one
# documented rule each (procdiff.pm deliberate()).  There is no list of
# known failures: every case must pass.
use strict;
use warnings;
use File::Basename qw(dirname basename);
use File::Path qw(remove_tree make_path);
use File::Spec;
use File::Temp qw(tempdir);
use Getopt::Long;

use lib dirname(__FILE__);
use procdiff;

my $top = dirname(dirname(dirname(File::Spec->rel2abs(__FILE__))));
$top = `cd '$top' && pwd`;
chomp $top;
my $impl = "$top/procsort/procsort";
my $ref = '/usr/bin/procmail';
my $keep;
my $jobs = 4;
GetOptions('impl=s' => \$impl, 'ref=s' => \$ref, 'keep=s' => \$keep, 'jobs=i' => \$jobs)
    or die "usage\n";

my @cases = @ARGV;
my ($uid, $gid, $uname) = procdiff::test_user();
# Always under /tmp with a name of fixed length: log abstracts cut long
# folder names, so how long the paths are must not depend on where the
# tests run.
my $scratch = tempdir('/tmp/procdiff.XXXXXX', CLEANUP => !$ENV{KEEP_TMP});
chmod 0755, $scratch;

my $recorder = <<'EOF';
#!/bin/sh
# a stand-in for sendmail: record argv and the message, succeed
d=$(dirname "$0")/../sent
f=$(mktemp "$d/mail.XXXXXXXX") || exit 75
{ printf 'argv:'; for a in "$@"; do printf ' [%s]' "$a"; done; printf '\n'; cat; } > "$f"
exit 0
EOF

# parse_case - the sections of a case file
sub parse_case {
    my ($file) = @_;
    open(my $fh, '<:raw', $file) or die "$file: $!\n";
    local $/;
    my $text = <$fh>;
    close $fh;
    my %c = (file => $file, name => basename($file, '.case'));
    my ($head, @parts) = split /^=== ([-\w]+)[ \t]*\n/m, $text;
    ($c{title}) = $head =~ /^#\s*(.*)$/m;
    $c{title} //= $c{name};
    while (@parts) {
        my ($k, $v) = splice @parts, 0, 2;
        $v =~ s/\n\z// unless $k eq 'msg' || $k eq 'rc' || $k eq 'setup' || $k eq 'check';
        $c{$k} = $v;
    }
    die "$file: no rc section\n" unless defined $c{rc};
    die "$file: no msg or msg-gen section\n" unless defined $c{msg} || defined $c{'msg-gen'};
    return \%c;
}

# split_args - a command line as the shell would split it (quotes, no expansion)
sub split_args {
    my ($line) = @_;
    my @w;
    while ($line =~ /\G\s*((?:[^\s'"\\]|\\.|'[^']*'|"(?:[^"\\]|\\.)*")+)/gc) {
        my $w = $1;
        $w =~ s/'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)/defined $1 ? $1 : defined $2 ? do { (my $x = $2) =~ s#\\(.)#$1#g; $x } : $3/ge;
        push @w, $w;
    }
    return @w;
}

sub write_file {
    my ($path, $data, $mode) = @_;
    open(my $fh, '>:raw', $path) or die "$path: $!\n";
    print $fh $data;
    close $fh or die "$path: $!\n";
    chmod $mode, $path if defined $mode;
}

# one_run - run one program on a case in $run; returns (listing, exit, stdout, stderr, check)
# $rcpt: for a -d case, [name, uid, gid, extra gid] of its recipient
sub one_run {
    my ($c, $prog, $run, $msgfile, $rcpt) = @_;
    my ($uid, $gid, $uname) = $rcpt ? ($rcpt->[1], $rcpt->[2], $rcpt->[0]) : ($uid, $gid, $uname);
    remove_tree($run) if -e $run;
    procdiff::prepare($run, $uid, $gid);
    procdiff::rcpt_files($run, $rcpt) if $rcpt;
    my @ns = $rcpt ? (ns => procdiff::rcpt_ns($run)) : ();
    my $home = "$run/home";
    my $rcfile = $rcpt ? "$home/.procmailrc" : "$run/rc";
    write_file($rcfile, $c->{rc}, 0644);
    chown $uid, $gid, $rcfile;
    write_file("$run/bin/sendmail", $recorder, 0755);
    my $spool = $rcpt ? "/var/mail/$uname" : undef;
    my %env = (HOME => $home, PATH => '/usr/local/bin:/usr/bin:/bin', LOGNAME => $uname,
        USER => $uname, SHELL => '/bin/sh', TZ => 'UTC', LANG => 'C');
    for (split /\n/, $c->{env} // '') {
        $env{$1} = $2 if /^([A-Za-z_]\w*)=(.*)$/;
    }
    my @vars = ("HOME=$home", "MAILDIR=$home", "ORGMAIL=$home/orgmail",
        "DEFAULT=$home/orgmail", "SENDMAIL=$run/bin/sendmail");
    my @args = map { $_ eq '@VARS@' ? @vars : $_ eq '@RC@' ? "$run/rc" : $_ eq '@USER@' ? $uname : $_ }
        split_args($c->{args} // '@VARS@ @RC@');
    if (defined $c->{'root-setup'}) {
        write_file("$run/root-setup.sh", $c->{'root-setup'}, 0644);
        my $st = procdiff::run_as(0, 0, argv => ['/bin/sh', '-e', "$run/root-setup.sh"],
            env => { %env, RCPT => $uname, SPOOL => $spool // '' }, cwd => $home, @ns,
            stdout => "$run/setup.out", stderr => "$run/setup.out");
        return (undef, "root-setup failed ($st): " . (procdiff::slurp("$run/setup.out") // ''))
            if $st;
    }
    if (defined $c->{setup}) {
        write_file("$run/setup.sh", $c->{setup}, 0644);
        my $st = procdiff::run_as($uid, $gid, argv => ['/bin/sh', '-e', "$run/setup.sh"], @ns,
            env => \%env, cwd => $home, stdout => "$run/setup.out", stderr => "$run/setup.out");
        return (undef, "setup failed ($st): " . (procdiff::slurp("$run/setup.out") // ''))
            if $st;
    }
    # a -d case runs as root, as the mailer would start it
    my ($ruid, $rgid) = $rcpt ? (0, 0) : ($uid, $gid);
    # Rule 5 (procdiff.pm deliberate()): was the system mailbox missing?
    my $fresh_sysbox = $rcpt && !lstat("$run/spool/$uname") ? "$spool.lock" : undef;
    my $exit = procdiff::run_as($ruid, $rgid, argv => [$prog, @args], env => \%env, cwd => $home, @ns,
        stdin => $msgfile, stdout => "$run/stdout", stderr => "$run/stderr", timeout => 120);
    my $check = '';
    if (defined $c->{check} && $prog eq $ref) {
        write_file("$run/check.sh", $c->{check}, 0644);
        my $st = procdiff::run_as($ruid, $rgid, argv => ['/bin/sh', '-e', "$run/check.sh"],
            env => { %env, EXIT => $exit, $rcpt ? (RCPT => $uname, SPOOL => $spool) : () }, cwd => $home, @ns,
            stdout => "$run/check.out", stderr => "$run/check.out");
        $check = "check failed ($st): " . (procdiff::slurp("$run/check.out") // '') if $st;
    }
    my @prefixes = ('msg.', split ' ', $c->{prefix} // '');
    my $ignore = defined $c->{ignore} ? qr/$c->{ignore}/ : undef;
    # procsort's deliberate differences (procdiff.pm deliberate()): one
    # rule each, applied to this side's texts before normalising
    my $side = $prog eq $ref ? 'ref' : 'impl';
    my %ctx = (run => $run, prefixes => \@prefixes, fresh_sysbox => $fresh_sysbox);
    $ctx{bounced} = procdiff::bounced($exit, procdiff::slurp("$run/stderr"),
        map { procdiff::slurp($_) } grep { -f && !-l } glob("$run/home/* $run/home/.[!.]*"))
        if $side eq 'ref';
    my $fix = procdiff::deliberate($side, %ctx);
    my ($list, $map) = procdiff::snapshot($run, prefixes => \@prefixes, ignore => $ignore, fix => $fix,
        rcpt => $rcpt);
    my $res = $list;
    $res .= "exit " . procdiff::deliberate_exit($side, $exit, %ctx) . "\n";
    unless (($c->{stdout} // '') eq 'ignore') {
        $res .= "stdout:\n" . procdiff::show(procdiff::normalise($fix->(procdiff::slurp("$run/stdout") // ''), $map));
    }
    $res .= "stderr:\n" . procdiff::show(procdiff::normalise($fix->(procdiff::slurp("$run/stderr") // ''), $map));
    return ($res, $check);
}

# run_case - the TAP line and diagnostics for case number $n (without the number)
sub run_case {
    my ($file) = @_;
    my $c = eval { parse_case($file) };
    return (0, "$file\n# $@") if !$c;
    my $dir = "$scratch/$c->{name}";
    make_path($dir);
    chmod 0755, $dir;
    my $msgfile = "$dir/message";
    if (defined $c->{'msg-gen'}) {
        my $d = dirname($file);
        system('/bin/sh', '-c', "cd '$d' && { $c->{'msg-gen'}\n} > '$msgfile'") == 0
            or return (0, "$c->{name}: $c->{title}\n# msg-gen failed");
    } else {
        write_file($msgfile, $c->{msg});
    }
    chmod 0644, $msgfile;
    my $run = "$dir/run";
    my $desc = "$c->{name}: $c->{title}";
    my $rcpt;
    if (($c->{args} // '') =~ /(?:^|\s)-d(?:\s|$)/) {
        return ('skip', "$desc\n") if $> != 0;
        $rcpt = eval { [procdiff::make_rcpt()] };
        return (0, "$desc\n# cannot make its user: $@") unless $rcpt;
    }
    my ($want, $check) = one_run($c, $ref, $run, $msgfile, $rcpt);
    rename $run, "$dir/procmail" if defined $want;
    my ($got, $err) = defined $want && -x $impl ? one_run($c, $impl, $run, $msgfile, $rcpt) : (undef, '');
    my @r;
    if (!defined $want) {
        @r = (0, "$desc\n" . join('', map { "# $_\n" } split /\n/, "procmail run: $check"));
    } elsif ($check ne '') {
        @r = (0, "$desc\n" . join('', map { "# $_\n" } split /\n/, "the case does not show what it says: $check"));
    } elsif (!defined $got) {
        @r = (0, "$desc\n# $impl is not built (or its setup failed: $err)\n");
    } elsif ($got ne $want) {
        my @l = split /\n/, procdiff::udiff($want, $got, 'procmail', 'procsort');
        splice @l, 120, @l - 120, "... (" . (@l - 120) . " more lines)" if @l > 120;
        @r = (0, "$desc\n" . join('', map { "# $_\n" } @l));
    } else {
        @r = (1, "$desc\n");
    }
    system('cp', '-a', $dir, $keep) if $keep;
    remove_tree($dir) unless $ENV{KEEP_TMP};
    return @r;
}

# Cases run $jobs at a time (procmail sleeps a second in many mbox appends);
# their results are printed in order.
my $failed = 0;
my $next = 0;
my %running;
my %done;
print "1..", scalar(@cases), "\n";
$| = 1;
my $printed = 0;
while ($printed < @cases) {
    while ($next < @cases && keys(%running) < $jobs) {
        my $i = $next++;
        my $pid = fork();
        die "procdiff: fork: $!\n" unless defined $pid;
        if ($pid == 0) {
            my ($pass, $text) = run_case($cases[$i]);
            open(my $fh, '>', "$scratch/result.$i") or die;
            print $fh "$pass\n$text";
            close $fh;
            exit 0;
        }
        $running{$pid} = $i;
    }
    my $pid = wait();
    last if $pid < 0;
    $done{ delete $running{$pid} } = 1 if exists $running{$pid};
    while ($printed < @cases && $done{$printed}) {
        my $text = procdiff::slurp("$scratch/result.$printed") // "0\n$cases[$printed]\n# no result\n";
        my ($pass, $rest) = split /\n/, $text, 2;
        my ($first, $diag) = split /\n/, $rest, 2;
        $first =~ s/#/\\#/g;    # a '#' in a description would start a TAP directive
        $printed++;
        $failed++ unless $pass;
        $first .= " # SKIP a delivery as root (-d) needs root" if $pass eq 'skip';
        print(($pass ? "ok" : "not ok"), " $printed - $first\n", $diag // '');
    }
}
exit($failed ? 1 : 0);
