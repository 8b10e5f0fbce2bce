"""Execution: the pipeline, the per-bar engine, sessions, journal and wiring."""
