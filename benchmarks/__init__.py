"""Benchmarks; run the scripts here as ``python benchmarks/NAME.py`` (see each docstring)."""
