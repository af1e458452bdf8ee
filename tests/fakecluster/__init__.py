"""tests/fakecluster."""
