"""DNS blocklists: the catalog of lists (data), what their answers mean, and querying them."""
