"""The StateStore on PostgreSQL, for several state replicas sharing one database.

Every operation is one transaction at READ COMMITTED; a check-then-write takes row
locks (the run row for appends, the entry for a compare-and-set, the approval for a
decision) so concurrent writers serialize where SQLite's single writer would. A write
that loses a race to insert the same key is rerun, and then sees the other's row.
Reads run at REPEATABLE READ, so a multi-query read sees one snapshot.

Appends and run changes NOTIFY in their transaction; each store process LISTENs on
one connection and wakes its own watchers, so a watcher on any replica follows
writes made through every other.
"""
