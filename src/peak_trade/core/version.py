"""The version of Peak Trade (`peak_trade.__version__`)."""

__version__ = "0.1.0"
