"""Optimization instruments (filled in by the optimization issue)."""
__all__: list[str] = []
