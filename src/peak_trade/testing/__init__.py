"""Test support shipped with the package: builders and typed fakes."""
