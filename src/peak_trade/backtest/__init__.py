"""Research on the session's engine: sweeps over parameter grids and reconciliation."""
