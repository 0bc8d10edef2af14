"""Seams with an embedded and a scale-out implementation each: database, bus, rate limits."""
