"""Runnable experiments; each module has a ``main(argv)`` CLI."""
