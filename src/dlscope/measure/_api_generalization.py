"""Generalization instruments (filled in by the generalization issue)."""
__all__: list[str] = []
