"""Benchmarks: `python -m bench.NAME` runs one; figures go to docs/benchmarks.md."""
