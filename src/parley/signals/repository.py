"""Queries of the signals and consent tables."""

from parley.signals.models import consent_events, consents, signal_businesses, signal_days

__all__ = ["consent_events", "consents", "signal_businesses", "signal_days"]
