"""The tamper-evident audit log: hash-chained entries in SQLite, verified end to end."""
