"""The ``coffre`` command line."""
