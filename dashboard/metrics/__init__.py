"""Prometheus metrics, computed from the database at scrape time (so every web process answers the same)."""
