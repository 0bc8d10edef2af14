"""The token cache forgets a revoked token at once: evicted over the bus, or when the database counter moved."""

from __future__ import annotations

from parley.kit.token_cache import TokenCache


def test_a_moved_revocation_counter_forgets_every_cached_token() -> None:
    counter = [0]
    cache: TokenCache[str] = TokenCache(lambda: counter[0])
    cache.get("a")
    cache.put("a", "scope-a", cache.generation)
    assert cache.get("a") == "scope-a"
    counter[0] += 1  # another process revoked something
    assert cache.get("a") is None


def test_an_unreadable_counter_never_answers_from_the_cache() -> None:
    readable = [True]
    cache: TokenCache[str] = TokenCache(lambda: 0 if readable[0] else None)
    cache.get("a")
    cache.put("a", "scope-a", cache.generation)
    readable[0] = False
    assert cache.get("a") is None


def test_a_lookup_that_raced_a_revocation_is_not_cached() -> None:
    cache: TokenCache[str] = TokenCache(None)
    generation = cache.generation  # the database read starts ...
    cache.evict("a")  # ... a revocation lands meanwhile ...
    cache.put("a", "stale", generation)  # ... and the read's answer comes back
    assert cache.get("a") is None
