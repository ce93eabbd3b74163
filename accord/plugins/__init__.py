"""Plugin hook specifications (filled as extension points arrive)."""
