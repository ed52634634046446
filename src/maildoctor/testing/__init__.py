"""Public helpers for your own tests of a mail set-up: `maildoctor.testing.dnsserver.TestDnsServer`
serves zone files on loopback (UDP and TCP) with faults injected per name, so that a check, a
script or an MTA can be pointed at `--nameserver 127.0.0.1:PORT` without touching real DNS. The
project's own tests and benchmarks use it the same way."""
