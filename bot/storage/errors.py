"""Failures of the storage layer that the entry point reports to the operator."""


class StoreUnavailable(Exception):
    """The upload log cannot be opened (a bad path, no permission, a newer schema)."""
