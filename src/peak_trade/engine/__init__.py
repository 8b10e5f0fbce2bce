"""The per-bar engine and the execution pipeline: one implementation of every trading rule."""
