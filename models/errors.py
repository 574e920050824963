"""Errors raised by store services; the API maps each to one HTTP status."""


class StoreError(Exception):
    """Base class; the message is meant for a person."""


class NotFoundError(StoreError):
    """The row does not exist, or the caller may not know it exists."""


class ForbiddenError(StoreError):
    """The caller is known but may not do this."""


class ConflictError(StoreError):
    """The change contradicts the current state (duplicate key, illegal transition)."""


class InvalidError(StoreError):
    """The input is well-formed but not acceptable."""
