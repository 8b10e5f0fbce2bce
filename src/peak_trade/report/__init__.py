"""Reports of a run: summary, CSV files and plots."""
