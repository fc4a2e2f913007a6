"""Procedural datasets for the embedded models: shapes in clutter (images) and moving shapes (clips)."""
