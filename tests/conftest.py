"""Shared test set-up: the clock of the rules is fixed where a test needs it."""
