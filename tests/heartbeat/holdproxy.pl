#!/usr/bin/perl
# holdproxy.pl LISTEN_PORT UPSTREAM_PORT NEEDLE
#
# A TCP proxy on 127.0.0.1 for PostgreSQL connections without TLS: it reads
# each client's startup packet and, when the packet contains NEEDLE (an
# application name), holds the connection open without ever answering, as
# a server that accepts but hangs would; every other connection is piped
# to 127.0.0.1:UPSTREAM_PORT.  Prints "ready" once listening and "held"
# for each connection held.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;

my ($listen_port, $up_port, $needle) = @ARGV;
die "usage: holdproxy.pl LISTEN_PORT UPSTREAM_PORT NEEDLE\n" unless defined $needle;
my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $listen_port,
                              Listen => 64, ReuseAddr => 1) or die "listen: $!\n";
$| = 1;
print "ready\n";
my $sel = IO::Select->new($l);
my (%peer, @held);

sub read_exactly {
    my ($s, $n) = @_;
    my $buf = '';
    while (length($buf) < $n) {
        my $got = sysread($s, $buf, $n - length($buf), length($buf));
        return undef unless $got;
    }
    return $buf;
}

sub write_all {
    my ($s, $buf) = @_;
    while (length $buf) {
        my $n = syswrite($s, $buf);
        return 0 unless $n;
        substr($buf, 0, $n) = '';
    }
    return 1;
}

sub drop {
    my ($s) = @_;
    my $p = delete $peer{$s};
    $sel->remove($s);
    close $s;
    if ($p) {
        delete $peer{$p};
        $sel->remove($p);
        close $p;
    }
}

while (1) {
    for my $s ($sel->can_read) {
        if ($s == $l) {
            my $c = $l->accept or next;
            my $len = read_exactly($c, 4);
            my $rest = defined $len ? read_exactly($c, unpack('N', $len) - 4) : undef;
            unless (defined $rest) { close $c; next; }
            if (index($rest, $needle) >= 0) {
                push @held, $c;
                print "held\n";
                next;
            }
            my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $up_port)
                or do { close $c; next; };
            write_all($u, $len . $rest) or do { close $c; close $u; next; };
            $peer{$c} = $u;
            $peer{$u} = $c;
            $sel->add($c, $u);
        } else {
            my $n = sysread($s, my $d, 65536);
            if (!$n || !write_all($peer{$s}, $d)) {
                drop($s);
            }
        }
    }
}
