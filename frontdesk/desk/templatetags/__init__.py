"""Template tags of the desk app."""
