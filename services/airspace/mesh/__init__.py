"""The mesh kit: one way to build, run and call every Airspace server."""
