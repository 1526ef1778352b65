"""What a store decides about its records, apart from how it reads and writes them:
stamping, checks and their refusals, shared by every store implementation so that each
behaves the same and raises the same errors."""
