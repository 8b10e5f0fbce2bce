"""Sessions: the runner, its metrics, stop signals, resume and the wiring of a mode."""
