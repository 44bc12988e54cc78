"""Benchmarks: ``python -m bench.NAME`` measures and rewrites its section of docs/benchmarks.md."""
