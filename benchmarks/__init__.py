"""Benchmarks for polar-links: `nox -s bench` or `python -m benchmarks.run`."""
