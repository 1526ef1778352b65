"""`airspace`: the command-line client of the gateway's public API."""
