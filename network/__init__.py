"""Authenticated, encrypted TCP transport between validators (DESIGN.md §8)."""
