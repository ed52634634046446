use strict; use Sisimai; use JSON::PP;
my $json = JSON::PP->new->canonical;
for my $f (sort glob("$ARGV[0]/*.eml")) {
  my $v = Sisimai->make($f, 'delivered' => 1);
  my ($name) = $f =~ m{([^/]+)$};
  if (!$v) { print $json->encode({file=>$name, bounce=>JSON::PP::false}), "\n"; next }
  for my $e (@$v) {
    my $soft = $e->softbounce;
    print $json->encode({file=>$name, bounce=>JSON::PP::true, recipient=>$e->recipient->address, reason=>$e->reason,
      status=>$e->deliverystatus // "", reply_code=>$e->replycode // "", kind=>($soft == 1 ? "soft" : $soft == 0 ? "hard" : "n/a")}), "\n";
  }
}
