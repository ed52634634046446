"""What receivers report back: DMARC aggregate and TLS-RPT reports, read into a summary."""
