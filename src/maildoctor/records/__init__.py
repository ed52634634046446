"""Pure parsers for the records and formats of the field: no I/O, never an exception on bad input."""
