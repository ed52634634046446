"""A received message: parsing, authentication (SPF, DKIM, DMARC, ARC), headers and content."""
