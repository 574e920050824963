"""Errors raised by the on-disk indexes, so callers can catch one family and rebuild."""

from __future__ import annotations


class IndexStoreError(Exception):
    """An index on disk cannot be used as it is; rebuilding it from the database fixes it."""


class EncoderUnavailableError(RuntimeError):
    """The configured embedding model cannot be loaded; the message says what to configure."""


class IndexMismatchError(IndexStoreError):
    """A saved index was built for another model or dimension, or its ids fail their checksum."""
