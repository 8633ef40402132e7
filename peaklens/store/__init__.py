"""Stores: one interface (``base.PhotoStore``), an embedded backend and an Elasticsearch backend."""
