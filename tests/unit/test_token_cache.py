"""The token cache forgets a revoked token at once: evicted over the bus, or when the database counter moved."""

from __future__ import annotations

from parley.kit.token_cache import TokenCache


def test_a_moved_revocation_counter_forgets_every_cached_token() -> None:
    counter = [0]
    cache: TokenCache[str] = TokenCache(lambda: counter[0], recheck_s=0)
    cache.get("a")
    cache.put("a", "scope-a", cache.generation)
    assert cache.get("a") == "scope-a"
    counter[0] += 1  # another process revoked something
    assert cache.get("a") is None


def test_an_unreadable_counter_never_answers_from_the_cache() -> None:
    readable = [True]
    cache: TokenCache[str] = TokenCache(lambda: 0 if readable[0] else None, recheck_s=0)
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


def test_the_counter_is_read_at_most_once_per_recheck_interval_and_a_revocation_is_seen_after_it() -> None:
    counter, reads, now = [0], [0], [100.0]

    def read_counter() -> int:
        reads[0] += 1
        return counter[0]

    cache: TokenCache[str] = TokenCache(read_counter, recheck_s=0.05, monotonic=lambda: now[0])
    cache.get("a")
    cache.put("a", "scope-a", cache.generation)
    for _ in range(1000):  # a burst of requests within one interval: one counter read in all
        assert cache.get("a") == "scope-a"
    assert reads[0] == 1
    counter[0] += 1  # another process revoked something
    now[0] += 0.051
    assert cache.get("a") is None
    assert reads[0] == 2
