#!/usr/bin/perl
# run.pl - procsort's language spot checks against the real procmail.
#
#   perl run.pl PROCSORT CASE...
#
# Each case (cases/NAME.case, the format of procdeliver's t/lib/procdiff.pl:
# "=== rc", "=== msg", "=== args", "=== setup" sections after a first comment
# line that names the case) is run through /usr/bin/procmail and through
# procsort, one after the other, at the same path, as the same unprivileged
# user (as root: the system user "mailsift-test", made if missing, entered
# with setpriv), with the same clean environment.  What they left in home/
# and sent/ (a recorder standing in for $SENDMAIL) and their exit codes must
# be the same, after normalising only the dates of From_ lines and Maildir's
# unique names.  The log is not compared: procsort names the rc file and
# line in its messages.  Prints TAP.
use strict;
use warnings;
use File::Path qw(remove_tree make_path);
use File::Find;

my ($impl, @cases) = @ARGV;
my $ref = '/usr/bin/procmail';
my $tmp = $ENV{T} or die "run.pl: T is not set\n";
my $user = 'mailsift-test';
my ($uid, $gid) = ($>, (split ' ', $))[0]);
if ($> == 0) {
    my @pw = getpwnam($user);
    if (!@pw) {
        system('useradd', '--system', '--no-create-home', '--home-dir', '/nonexistent',
            '--shell', '/bin/sh', '--user-group', $user);
        @pw = getpwnam($user) or die "run.pl: cannot create $user\n";
    }
    ($uid, $gid) = @pw[2, 3];
} else {
    $user = getpwuid($>);
}

sub read_case {
    my ($file) = @_;
    open(my $fh, '<', $file) or die "$file: $!\n";
    my $desc = <$fh>;
    $desc =~ s/^#\s*//;
    chomp $desc;
    my (%sec, $cur);
    while (my $line = <$fh>) {
        if ($line =~ /^=== (\S+)\s*$/) {
            $cur = $1;
            $sec{$cur} = '';
            next;
        }
        $sec{$cur} .= $line if defined $cur;
    }
    for my $k (keys %sec) {
        next if $k eq 'msg';
        $sec{$k} =~ s/\n\z//;
    }
    return ($desc, \%sec);
}

sub snapshot {
    my ($run) = @_;
    my @entries;
    for my $top ("home", "sent") {
        next unless -d "$run/$top";
        find({ no_chdir => 1, wanted => sub {
            my $p = $File::Find::name;
            (my $rel = $p) =~ s/^\Q$run\E\///;
            my @st = lstat($p);
            my $name = $rel;
            $name =~ s{/(new|cur|tmp)/[^/]+$}{/$1/UNIQUE};
            $name =~ s{/msg\.[A-Za-z0-9_-]+$}{/msg.UNIQUE};
            if (-d _) {
                push @entries, sprintf("d %o %s", $st[2] & 07777, $name);
            } elsif (-f _) {
                open(my $fh, '<', $p) or die "$p: $!";
                local $/;
                my $c = <$fh> // '';
                $c =~ s/^(>?From \S*)  \w\w\w \w\w\w [ \d]\d \d\d:\d\d:\d\d \d{4}$/$1  DATE/mg;
                $c =~ s{(new|cur|tmp)/\d+\.[^\s/]+}{$1/UNIQUE}g;
                $c =~ s{msg\.[A-Za-z0-9_-]{3,}}{msg.UNIQUE}g;
                push @entries, sprintf("f %o %s\n%s\n-- end", $st[2] & 07777, $name, $c);
            }
        } }, "$run/$top");
    }
    return join("\n", sort @entries) . "\n";
}

sub run_one {
    my ($prog, $run, $sec) = @_;
    remove_tree($run) if -e $run;
    make_path("$run/home", "$run/sent", "$run/bin");
    chmod 0755, $run, "$run/bin";
    chown $uid, $gid, "$run/home", "$run/sent";
    open(my $rc, '>', "$run/rc") or die;
    print $rc $sec->{rc} // '', "\n";
    close $rc;
    chown $uid, $gid, "$run/rc";
    chmod 0644, "$run/rc";
    open(my $sm, '>', "$run/bin/sendmail") or die;
    print $sm "#!/bin/sh\nn=\$(ls '$run/sent' | wc -l)\n{ echo \"\$*\"; cat; } > \"$run/sent/call\$n\"\n";
    close $sm;
    chmod 0755, "$run/bin/sendmail";
    open(my $m, '>', "$run/msg") or die;
    print $m $sec->{msg} // '';
    close $m;
    my @env = ("HOME=$run/home", "PATH=/usr/local/bin:/usr/bin:/bin", "LOGNAME=$user", "USER=$user",
        "SHELL=/bin/sh", "TZ=UTC", "LANG=C");
    my $vars = "HOME=$run/home MAILDIR=$run/home ORGMAIL=$run/home/orgmail DEFAULT=$run/home/orgmail "
        . "SENDMAIL=$run/bin/sendmail";
    my $args = $sec->{args} // '@VARS@ @RC@';
    $args =~ s/\@VARS\@/$vars/g;
    $args =~ s/\@RC\@/$run\/rc/g;
    $args =~ s/\@RUN\@/$run/g;
    my @priv = $> == 0 ? ('setpriv', "--reuid=$uid", "--regid=$gid", '--clear-groups', '--') : ();
    if (defined $sec->{setup}) {
        system(@priv, 'env', '-i', @env, 'sh', '-c', "cd '$run/home' && $sec->{setup}") == 0
            or return (-1, "setup failed");
    }
    my $cmd = join(' ', map { "'$_'" } @priv, 'env', '-i', @env, 'timeout', '-k', '5', '60', $prog)
        . " $args < '$run/msg' > '$run/stdout' 2> '$run/stderr'";
    system('sh', '-c', "cd '$run/home' 2>/dev/null; $cmd");
    my $status = $? >> 8;
    return ($status, snapshot($run));
}

my $n = 0;
my $failed = 0;
print "1..", scalar(@cases), "\n";
for my $file (@cases) {
    my ($desc, $sec) = read_case($file);
    my $run = "$tmp/run";
    my ($rs, $rsnap) = run_one($ref, $run, $sec);
    my ($is, $isnap) = run_one($impl, $run, $sec);
    $n++;
    (my $base = $file) =~ s{.*/}{};
    if ($rs == $is && $rsnap eq $isnap) {
        print "ok $n - $base: $desc\n";
        next;
    }
    $failed++;
    print "not ok $n - $base: $desc\n";
    print "# exit: procmail $rs, procsort $is\n" if $rs != $is;
    if ($rsnap ne $isnap) {
        open(my $a, '>', "$tmp/a") or die;
        print $a $rsnap;
        close $a;
        open(my $b, '>', "$tmp/b") or die;
        print $b $isnap;
        close $b;
        my $d = `diff -u '$tmp/a' '$tmp/b' | head -60`;
        $d =~ s/^/# /mg;
        print $d;
    }
    my $err = `cat '$run/stderr'`;
    $err =~ s/^/# procsort stderr: /mg;
    print $err;
}
exit($failed ? 1 : 0);
