"""peaklens: search a personal photo album by meaning."""

__version__ = "0.1.0"
