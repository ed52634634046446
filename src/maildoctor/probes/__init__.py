"""Talking to servers beyond DNS: the SMTP probe, HTTPS fetches. Only when the user asks."""
