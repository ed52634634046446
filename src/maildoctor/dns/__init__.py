"""DNS access: one resolver interface, several backends (live, zone files), and wrappers."""
