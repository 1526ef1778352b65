"""Benchmarks: `python -m bench` (or `make bench`) measures the mesh and prints ratios taken
side by side in one run; `python -m bench.loadgen` is a ghz-like load generator."""
