"""Fixes: the change set of an audit, applied to a zone file or sent as a dynamic update, and the record builders."""
