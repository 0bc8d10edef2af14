"""Business accounts (WABAs), their numbers, tokens, profiles, and the Cloud-API send and receive paths."""

from parley.business.scope import GraphScope

__all__ = ["GraphScope"]
