"""Scans: the audit of every domain of a list, written as Parquet partitions."""
