"""The journal: the append-only SQLite store, its schema and readers, and the run recorder."""
