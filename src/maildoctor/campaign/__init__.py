"""Sending a campaign right: the warm-up of new IPs per provider, and the waves that keep within it."""
