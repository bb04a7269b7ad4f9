"""Prover tests: a package, so the prover processes and their proving keys go when its last test ends."""
