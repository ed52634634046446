"""Storage: every table, every migration and the connection (SQLite by default, PostgreSQL by URL)."""
