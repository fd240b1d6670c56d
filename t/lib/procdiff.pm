# procdiff.pm - run procmail and procsort on the same input as the same
# unprivileged user, and turn what each left behind into text to compare.
#
# Used by t/lib/procdiff.pl (the rc/message corpus in t/data/procsort/)
# and by the folder-level differential test.  What it trusts: the case
# files (they are ours); it runs their shell snippets as the test user.
#
#   procdiff::test_user()        (uid, gid, name): as root, the system user
#                                "mailsift-test" (made once with useradd,
#                                shell /bin/sh, no home); otherwise ourselves
#   procdiff::make_rcpt()        (name, uid, gid, extra gid) of the recipient
#                                of a delivery as root (-d): free ids
#   procdiff::rcpt_files($run, $r) RUN/etc/{passwd,group} with it added (home
#                                RUN/home, member of a second group), and
#                                RUN/spool, an empty root:mail 2775 spool
#   procdiff::rcpt_ns($run)      the bind mounts for run_as's ns: RUN/spool
#                                over /var/mail, RUN/etc over /etc/passwd, group
#   procdiff::prepare($dir, $u)  make $dir/home and $dir/sent owned by the user
#   procdiff::run_as($u, %a)     run a command as the user with a clean
#                                environment, stdin/stdout/stderr from/to files,
#                                under a timeout; returns the exit status
#   procdiff::snapshot($dir, %o) a canonical listing of home/ and sent/: every
#                                entry with its type and mode, hard-link groups,
#                                file contents (normalised; big ones by digest);
#                                unique file names (Maildir TIME.PID_N.HOST,
#                                msg.XXXX, the recorder's files) renamed to
#                                KIND#n in the order of their contents
#   procdiff::normalise($text, $map)  dates, pids, the program's name and
#                                unique file names made comparable
#   procdiff::udiff($a, $b)      a unified diff of two texts
#
#   procdiff::deliberate($side, %ctx)  the deliberate differences: a sub
#                                that rewrites one side's text, applied
#                                before normalise (see below)
#   procdiff::deliberate_exit($side, $exit, %ctx)  the same for the exit code
#
# Normalising is limited to what must differ between two runs: dates (the
# ctime() form procmail writes in From_ lines and logs, RFC 2822 dates),
# process ids in "[pid]", the name procmail/procsort in log lines, and the
# unique names above.  Everything else must be byte for byte the same,
# except for procsort's deliberate differences from procmail 3.22: each
# one is documented in procsortrc(5) COMPATIBILITY and has exactly one
# rule in deliberate(), which rewrites only what that difference touches.
package procdiff;

use strict;
use warnings;
use Digest::SHA qw(sha1_hex);
use Fcntl qw(:mode);
use File::Path qw(make_path);
use File::Spec;
use File::Temp qw(tempfile);
use POSIX qw(:sys_wait_h);

our $USER_NAME = 'mailsift-test';
our $REAP = File::Spec->rel2abs(__FILE__) =~ s{procdiff\.pm$}{procdiff-reap}r;
our $BIG = 65536;    # files bigger than this are shown by digest

# test_user - (uid, gid, name) of the user both programs run as
sub test_user {
    if ($> != 0) {
        return ($>, (split ' ', $))[0], scalar getpwuid($>));
    }
    my @pw = getpwnam($USER_NAME);
    if (!@pw) {
        system('useradd', '--system', '--no-create-home', '--home-dir', '/nonexistent',
            '--shell', '/bin/sh', '--user-group', $USER_NAME);
        @pw = getpwnam($USER_NAME);    # another test may have made it meanwhile
        die "procdiff: cannot create the test user $USER_NAME\n" unless @pw;
    }
    return ($pw[2], $pw[3], $USER_NAME);
}

our $RCPT_NAME = 'msdrcpt';     # the recipient of -d cases (in a private passwd)
our $EXTRA_GROUP = 'msdextra';  # a supplementary group of that recipient

# free_id - the first id from $from up that no line of the file (passwd or group) uses
sub free_id {
    my ($file, $from) = @_;
    my %used;
    open(my $fh, '<', $file) or die "$file: $!\n";
    while (<$fh>) {
        my @f = split /:/;
        $used{ $f[2] } = 1 if defined $f[2];
    }
    close $fh;
    $from++ while $used{$from};
    return $from;
}

# make_rcpt - (name, uid, gid, extra gid) of the recipient of a -d case.  It
# exists only in the private passwd and group files that rcpt_files() writes
# and rcpt_ns() mounts: nothing outside the test's mount namespace changes.
sub make_rcpt {
    my $uid = free_id('/etc/passwd', 61000);
    my $gid = free_id('/etc/group', 61000);
    my $extra = $gid + 1;
    $extra++ while getgrgid($extra);
    return ($RCPT_NAME, $uid, $gid, $extra);
}

# rcpt_files - in $run/etc: passwd and group with the recipient (home
# $run/home) added; $run/spool: an empty spool like Debian's /var/mail
# (root:mail 2775)
sub rcpt_files {
    my ($run, $rcpt) = @_;
    my ($name, $uid, $gid, $extra) = @$rcpt;
    make_path("$run/etc", "$run/spool");
    chmod 0755, "$run/etc";
    for my $f (['passwd', "$name:x:$uid:${gid}::$run/home:/bin/sh\n"],
        ['group', "$name:x:$gid:\n$EXTRA_GROUP:x:$extra:$name\n"]) {
        open(my $in, '<', "/etc/$f->[0]") or die "/etc/$f->[0]: $!\n";
        open(my $out, '>', "$run/etc/$f->[0]") or die "$run/etc/$f->[0]: $!\n";
        print $out grep { !/^(\Q$name\E|\Q$EXTRA_GROUP\E):/ } <$in>;
        print $out $f->[1];
        close $out or die "$run/etc/$f->[0]: $!\n";
        chmod 0644, "$run/etc/$f->[0]";
    }
    my $mail = getgrnam('mail') // die "no group mail\n";
    chown 0, $mail, "$run/spool";
    chmod 02775, "$run/spool";
}

# rcpt_ns - the bind mounts run_as makes in a private mount namespace for
# a -d case: $run/spool over /var/mail, the private passwd and group
sub rcpt_ns {
    my ($run) = @_;
    return ["$run/spool", '/var/mail', "$run/etc/passwd", '/etc/passwd', "$run/etc/group", '/etc/group'];
}

# prepare - a fresh run directory: home/ and sent/ belong to the user
sub prepare {
    my ($dir, $uid, $gid) = @_;
    make_path("$dir/home", "$dir/sent", "$dir/bin");
    chmod 0755, $dir, "$dir/home", "$dir/sent", "$dir/bin";
    chown $uid, $gid, "$dir/home", "$dir/sent";
}

# run_as - run argv as the user; a => {argv, env, stdin, stdout, stderr, cwd, timeout, ns}
# (ns: [source, target, ...] to bind-mount in a private mount namespace first)
sub run_as {
    my ($uid, $gid, %a) = @_;
    my @env = map { "$_=$a{env}{$_}" } sort keys %{ $a{env} };
    my @cmd = ('env', '-i', @env, 'timeout', '-k', '5', $a{timeout} || 120, @{ $a{argv} });
    if ($> == 0 && $uid != 0) {
        unshift @cmd, 'setpriv', "--reuid=$uid", "--regid=$gid", '--clear-groups', '--';
    }
    if ($a{ns}) {
        # a private mount namespace: each (source, target) pair bind-mounted
        my $sh = 'while [ $# -gt 0 ] && [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 125; shift 2; done; '
            . 'shift; exec "$@"';
        unshift @cmd, 'unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', $sh, 'sh',
            @{ $a{ns} }, '--';
    }
    # procmail does not wait for a program started without `w' (nor for a
    # forward): procdiff-reap waits for every process the run leaves behind.
    my $reap = $REAP;
    die "procdiff: $reap is not built\n" unless -x $reap;
    unshift @cmd, $reap, ($a{timeout} || 120) + 30;
    my $pid = fork();
    die "procdiff: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open(STDIN, '<', $a{stdin} || '/dev/null') or die "stdin: $!";
        open(STDOUT, '>', $a{stdout}) or die "stdout: $!";
        open(STDERR, '>', $a{stderr}) or die "stderr: $!";
        chdir($a{cwd} || '/') or die "chdir: $!";
        exec(@cmd) or die "exec $cmd[0]: $!";
    }
    waitpid($pid, 0);
    my $st = $?;
    return WIFEXITED($st) ? WEXITSTATUS($st) : 128 + WTERMSIG($st);
}

# normalise - make a text from one run comparable with the other's
sub normalise {
    my ($text, $map) = @_;
    my $host = (POSIX::uname())[1];
    # unique names first: they may contain digits that look like dates
    if ($map && %$map) {
        my $re = join '|', map { quotemeta } sort { length $b <=> length $a } keys %$map;
        $text =~ s{(^|[\s/"'=])($re)(?=$|[\s/"':])}{$1$map->{$2}}gm;
    }
    # Maildir names not in the map (gone, or cut short in a log abstract)
    $text =~ s/\b\d{9,11}\.\d+_\d+(?:\.[^\s\/"]*)?/MAILDIRNAME/g;
    # ctime() dates: "Sat Nov 21 19:53:42 2026"
    $text =~ s/\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d \d{4}\b/DATE/g;
    # RFC 2822 dates: "Sat, 21 Nov 2026 19:53:42 +0000"
    $text =~ s/\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d(?::\d\d)? [-+]\d{4}(?: \([A-Z]+\))?/DATE/g;
    # A log abstract's folder holding unique names: their length varies with
    # the pid, so do the padding and where procmail cuts the folder (at 60
    # characters): keep the folder up to its first unique name only.
    $text =~ s{^(  Folder: )(.*?)([\t ]+)(\d+)$}{
        my ($pre, $name, $pad, $n) = ($1, $2, $3, $4);
        $name =~ s/\b\d{9,11}\.\d+(?:_\d*(?:\.[^\s\/"]*)?)?/MAILDIRNAME/g;
        $name =~ s/MAILDIR#\d+/MAILDIRNAME/g;
        if ($name =~ /^(.*?(?:MAILDIRNAME|MSG\([^)]*\)#\d+|SENT#\d+|TEMP#\d+))(.*)$/) {
            $name = $1 . (length $2 ? ' ...' : '');
            $pad = "\t";
        }
        $pre . $name . $pad . $n
    }gme;
    $text =~ s/^(procmail|procsort): \[\d+\]/PROG: [PID]/gm;
    $text =~ s/^(procmail|procsort): /PROG: /gm;
    # With VERBOSE, the first line logged in a new second is preceded by
    # a "[pid] date" line: where those lines fall (stderr or LOGFILE, how
    # many) depends only on the clock (procmail sleeps a second in mbox
    # appends), so they are dropped once they have the right form.
    $text =~ s/^PROG: \[PID\] DATE\n//gm;
    return $text;
}

# deliberate - a sub rewriting one side's texts (files, stdout, stderr)
# for procsort's deliberate differences.  $side is 'ref' (procmail) or
# 'impl' (procsort); %ctx has run (the run directory), bounced (true when
# procmail exited 73 and logged the **Bounced** abstract: see
# bounced()), prefixes (the case's MSGPREFIX values, as for snapshot).  One rule per difference, each naming its man page section.
sub deliberate {
    my ($side, %ctx) = @_;
    my $run = $ctx{run};
    return sub {
        my ($text) = @_;
        if ($side eq 'impl') {
            # Rule 1, procsortrc(5) COMPATIBILITY "Error lines name the rc
            # file and line": procsort puts "RCFILE, line N: " after its name on
            # a log line about an rc file; procmail names neither.  Only
            # rc files of this run (under $run) are stripped.
            $text =~ s/^(procsort: )\Q$run\E\/[^\n]*?, line \d+: /$1/mg;
        }
        if ($side eq 'ref' && $ctx{bounced}) {
            # Rule 2, procsortrc(5) COMPATIBILITY "A message that cannot be
            # delivered is requeued": procmail bounces (exit 73, abstract **Bounced**),
            # procsort has the message requeued (exit 75, **Requeued**),
            # as procmail -t does.  Only the abstract's folder word.
            $text =~ s/^(  Folder: )\*\*Bounced\*\*(?=\t)/$1**Requeued**/mg;
        }
        # Rule 3, procsortrc(5) COMPATIBILITY "The -v banner": the version
        # banner before "Locking strategies:" names the program (procmail's
        # also its copyright and mailing lists); the lines after it are
        # compared as they are.
        $text =~ s/\A(?:procmail v\d|procsort \(mailsift\))[^\n]*\n(?:.*?\n)??\n(?=Locking strategies:\t)/VERSION-BANNER\n\n/s;
        if ($side eq 'ref') {
            # Rule 4, procsortrc(5) COMPATIBILITY "Folders": procmail names
            # an MH or directory message first and then opens and locks it
            # by that name, which VERBOSE shows ("Opening", "Acquiring
            # kernel-lock" after the LASTFOLDER assignment); procsort
            # writes it under a temporary name and then names it, so it
            # logs the assignment alone.  Only for names that are MH
            # numbers or start with one of the case's message prefixes.
            my $pre = join '|', map { quotemeta(s/^[^:]*://r) } @{ $ctx{prefixes} || ['msg.'] };
            $text =~ s{^(procmail: Assigning "LASTFOLDER=((?:[^"\n]*/)?(?:\d+|(?:$pre)[A-Za-z0-9_-]+))"\n)procmail: Opening "\2"\n(?:procmail: Acquiring kernel-lock\n)?}{$1}mg;
        }
        if ($side eq 'ref' && $ctx{fresh_sysbox}) {
            # Rule 5, procsortrc(5) COMPATIBILITY "The system mailbox's
            # lockfile": procmail -d, having made a missing system mailbox,
            # no longer knows it needs the spool's group for its lockfile,
            # so it cannot make it ("Lock failure" on it) and writes under
            # the kernel lock alone; procsort takes the lockfile.  Only in
            # a -d run that found no mailbox, only that lockfile's line.
            $text =~ s/^procmail: Lock failure on "\Q$ctx{fresh_sysbox}\E"\n//mg;
        }
        return $text;
    };
}

# bounced - procmail exited 73 and logged a **Bounced** abstract in one of
# the texts: it could not deliver (Rule 2 above applies)
sub bounced {
    my ($exit, @texts) = @_;
    return 0 unless $exit == 73;
    return scalar grep { defined && /^  Folder: \*\*Bounced\*\*\t/m } @texts;
}

# deliberate_exit - the exit code, with Rule 2 (73 -> 75 when bounced)
sub deliberate_exit {
    my ($side, $exit, %ctx) = @_;
    return 75 if $side eq 'ref' && $ctx{bounced} && $exit == 73;
    return $exit;
}

# show - bytes as printable text: non-printing bytes as \ooo, lines kept
sub show {
    my ($bytes) = @_;
    $bytes =~ s/([^\n\t\x20-\x7e])/sprintf('\\%03o', ord($1))/ge;
    $bytes .= "\\(no final newline)\n" if length($bytes) && $bytes !~ /\n\z/;
    return $bytes;
}

sub slurp {
    my ($path) = @_;
    open(my $fh, '<:raw', $path) or return undef;
    local $/;
    my $data = <$fh>;
    return defined $data ? $data : '';
}

# unique_kind - which kind of unique name this is, or undef for a plain name
sub unique_kind {
    my ($dir, $name, $prefixes) = @_;
    my $host = (POSIX::uname())[1];
    return 'MAILDIR' if $name =~ /^\d+\.\d+_\d+\.\Q$host\E(?::2,.*)?$/;
    return 'SENT' if $dir =~ m{(^|/)sent$};
    return 'BOGUS' if $dir eq 'spool' && $name =~ /^BOGUS\.[^.]+\./;
    for my $p (@$prefixes) {
        # "DIR:PREFIX" limits a prefix (maybe empty) to the directory home/DIR
        my ($only, $pre) = $p =~ /^([^:]*):(.*)$/ ? ($1, $2) : (undef, $p);
        next if defined $only && $dir ne "home/$only";
        return "MSG($pre)" if $name =~ /^\Q$pre\E[A-Za-z0-9_-]+$/;
    }
    return 'TEMP' if $name =~ /^_[A-Za-z0-9_-]+[.,+%]/;
    return undef;
}

# snapshot - (text, name map) describing $dir/home and $dir/sent
sub snapshot {
    my ($dir, %o) = @_;
    my @prefixes = @{ $o{prefixes} || ['msg.'] };
    my $ignore = $o{ignore};    # a regex of relative paths to leave out
    my $fix = $o{fix} || sub { $_[0] };    # deliberate() rules for this side
    my $rcpt = $o{rcpt};    # a -d case: [name, uid, gid]; spool/ is listed with owners
    my (%map, @entries, %inode);
    my @todo = ('home', 'sent', $rcpt ? ('spool') : ());
    # first pass: find every entry, and the unique names per directory
    my %contents;
    while (@todo) {
        my $rel = shift @todo;
        my $path = "$dir/$rel";
        opendir(my $dh, $path) or next;
        my @names = sort grep { $_ ne '.' && $_ ne '..' } readdir($dh);
        closedir($dh);
        my %kinds;
        for my $n (@names) {
            my $k = unique_kind($rel, $n, \@prefixes);
            push @{ $kinds{$k} }, $n if defined $k;
        }
        # unique names are numbered in the order of their (normalised) contents
        for my $k (sort keys %kinds) {
            my @sorted = sort {
                my $ca = normalise($fix->(slurp("$path/$a") // ''), undef);
                my $cb = normalise($fix->(slurp("$path/$b") // ''), undef);
                $ca cmp $cb or $a cmp $b
            } @{ $kinds{$k} };
            my $i = 0;
            $map{$_} = "$k#" . ++$i for @sorted;
        }
        for my $n (@names) {
            my $r = "$rel/$n";
            my @st = lstat("$path/$n") or next;
            push @entries, [$r, $n, \@st];
            push @todo, $r if S_ISDIR($st[2]);
        }
    }
    # listed in the order of the names shown: random unique names must not
    # decide where an entry comes
    my $shown_of = sub { join '/', map { exists $map{$_} ? $map{$_} : $_ } split m{/}, $_[0] };
    my @out;
    for my $e (sort { $shown_of->($a->[0]) cmp $shown_of->($b->[0]) } @entries) {
        my ($r, $n, $st) = @$e;
        my $shown = $shown_of->($r);
        next if $ignore && $shown =~ $ignore;
        my $mode = $st->[2];
        my $type = S_ISDIR($mode) ? 'dir' : S_ISLNK($mode) ? 'link' : S_ISREG($mode) ? 'file' : 'other';
        my $line = sprintf('%s %s %04o', $shown, $type, $mode & 07777);
        if ($rcpt && $r =~ m{^spool/}) {
            my $u = $st->[4] == $rcpt->[1] ? 'rcpt' : scalar(getpwuid($st->[4])) // $st->[4];
            my $g = $st->[5] == $rcpt->[2] ? 'rcpt' : scalar(getgrgid($st->[5])) // $st->[5];
            $line .= " owner=$u:$g";
        }
        if ($type eq 'file') {
            my $data = normalise($fix->(slurp("$dir/$r") // ''), \%map);
            $line .= sprintf(' size=%d', length $data);
            if ($st->[3] > 1) {
                push @{ $inode{"$st->[0]:$st->[1]"} }, $shown;
            }
            if (length($data) > $BIG) {
                $line .= ' sha1=' . sha1_hex($data) . "\n";
            } else {
                $line .= "\n" . join('', map { "  | $_\n" } split /\n/, show($data), -1);
                $line =~ s/  \| \n\z//;
            }
        } elsif ($type eq 'link') {
            $line .= ' -> ' . readlink("$dir/$r") . "\n";
        } else {
            $line .= "\n";
        }
        push @out, $line;
    }
    for my $g (sort map { join(' = ', sort @$_) } values %inode) {
        push @out, "hard links: $g\n";
    }
    return (join('', @out), \%map);
}

# udiff - unified diff of two texts (empty when they are equal)
sub udiff {
    my ($a, $b, $la, $lb) = @_;
    return '' if $a eq $b;
    my ($fa, $na) = tempfile();
    my ($fb, $nb) = tempfile();
    print $fa $a;
    print $fb $b;
    close $fa;
    close $fb;
    my $d = `diff -u --label '$la' --label '$lb' '$na' '$nb'`;
    unlink $na, $nb;
    return $d;
}

1;
