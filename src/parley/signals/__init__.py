"""Metadata signals and consent."""
