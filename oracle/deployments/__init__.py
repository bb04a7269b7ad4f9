"""Putting feeds on chains: resolve the target chain, find the live deployment, deploy or rotate it, record it."""
