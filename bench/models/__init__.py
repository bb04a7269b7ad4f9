"""Benchmark models, built deterministically by committed scripts."""
