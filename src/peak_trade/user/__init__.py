"""What users bring: their own strategy files."""
