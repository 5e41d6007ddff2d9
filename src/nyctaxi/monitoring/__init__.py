"""Drift of a new month against the training reference, and alerts when it passes the limits."""
