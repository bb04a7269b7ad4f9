"""Benchmarks of the prove-and-relay path (run each as ``python -m bench.<name>``)."""
