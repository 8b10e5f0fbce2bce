"""Command-line front end: `peak-trade` and scripts/run_execution_session.py."""
