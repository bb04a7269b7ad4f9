"""The read API: feeds, rounds and their verification evidence, a dashboard and Prometheus metrics."""

from oracle.api.app import create_app

__all__ = ["create_app"]
