"""collector/steps."""
