"""The StateStore on one SQLite file (WAL), the embedded default.

Every check-then-write runs whole inside the single writer thread (access.BatchWriter),
so checks and writes are atomic without row locks; reads use their own connections.

Durability: synchronous=FULL. A write is acknowledged only after its transaction's
WAL frames were fsynced, so an acknowledged write survives a killed process and a
power loss. WAL's usual NORMAL fsyncs only at checkpoints: a power loss could drop
the last acknowledged commits, and a router would then re-run a step it was told was
journaled, or lose a run it was told exists. The price, one fsync per commit, is
shared by every write in a group commit, so it is paid per batch, not per write.
"""
