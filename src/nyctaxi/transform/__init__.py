"""Pure DataFrame → DataFrame transforms: no reads, writes, sessions, settings, clocks or prints."""
