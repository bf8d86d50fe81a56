"""Seeded data generators (procedural scenes, ...) used by the notebooks."""
