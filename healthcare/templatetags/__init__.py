"""Template tags of the healthcare app."""
