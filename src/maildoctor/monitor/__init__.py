"""The watch: sending IPs on the blocklists, domains' records and their changes, alerts on change,
Prometheus metrics, and the relay a Postfix should use."""
