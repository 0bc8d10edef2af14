"""Parley: a self-hosted messaging platform that earns from businesses, WhatsApp-style."""

__version__ = "0.1.0"
