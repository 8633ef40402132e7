"""Benchmarks: scripts that print tables and write docs/BENCHMARKS.md (`python -m bench.run_all`)."""
