"""Log search across the jobs of the user's teams (no models of its own)."""
