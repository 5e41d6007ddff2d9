"""Data quality: run reports (and, later, validation)."""
