"""Coffre: end-to-end encrypted cloud storage."""

__version__ = "0.1.0"
