"""Choosing the store backend from the settings."""

from __future__ import annotations

from peaklens.config import Settings
from peaklens.store.base import PhotoStore


def open_store(settings: Settings) -> PhotoStore:
    if settings.store == "elasticsearch":
        from peaklens.store.elastic import ElasticStore

        return ElasticStore(settings)
    from peaklens.store.embedded import EmbeddedStore

    return EmbeddedStore(settings)
