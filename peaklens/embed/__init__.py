"""Embedders: the model seam. ``base.Embedder`` is what the pipeline uses; ``siglip`` is the real one."""
