"""Exports of what contracts record, in formats other systems read (ISO 20022)."""
