"""Shared plumbing of every instrument (private)."""
