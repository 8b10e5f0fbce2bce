"""Core values shared by every component: config, errors, clock, bars and instruments."""
