"""Errors a user can act on.

Every failure that reaches the CLI or the UI is a ``PeaklensError`` whose message is one readable line
(what went wrong and what to do). Anything else is a bug.
"""


class PeaklensError(Exception):
    """A problem the user can fix; ``str(err)`` is the line we show them."""


class ModelNotAvailable(PeaklensError):
    """The model weights are neither cached nor downloadable."""


class StoreUnavailable(PeaklensError):
    """The store cannot be reached or opened."""


class BadInput(PeaklensError):
    """A value given by the user (a filter, a path, a file) cannot be used."""
