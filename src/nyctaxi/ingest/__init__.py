"""Ingestion: TLC files → bronze, byte-exact, with a manifest (and a synthetic source for offline use)."""
