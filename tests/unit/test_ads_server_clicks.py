"""Click tokens: only this installation can mint one, and one works for an hour."""

from __future__ import annotations

import pytest

from parley.ads.clicks import TOKEN_TTL_MS, ClickClaim, ClickTokens, InvalidClickError

NOW = 1_790_000_000_000
CLAIM = ClickClaim(11, 22, 33, "a" * 32, 50_000, NOW)


def test_a_token_carries_its_claim() -> None:
    tokens = ClickTokens(b"k" * 32)
    token = tokens.mint(CLAIM)
    assert tokens.read(token, NOW + 1000) == CLAIM
    assert tokens.read(token, NOW + TOKEN_TTL_MS) == CLAIM


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # another signature
        lambda t: "x" + t,  # another payload
        lambda t: t.split(".")[0],  # no signature
        lambda t: "",
        lambda t: t + "." + "A" * 500,
    ],
)
def test_a_changed_token_is_refused(mangle: object) -> None:
    tokens = ClickTokens(b"k" * 32)
    with pytest.raises(InvalidClickError):
        tokens.read(mangle(tokens.mint(CLAIM)), NOW)  # type: ignore[operator]


def test_another_installation_s_token_is_refused() -> None:
    with pytest.raises(InvalidClickError):
        ClickTokens(b"j" * 32).read(ClickTokens(b"k" * 32).mint(CLAIM), NOW)


def test_a_token_expires_after_an_hour_and_is_not_from_the_future() -> None:
    tokens = ClickTokens(b"k" * 32)
    token = tokens.mint(CLAIM)
    with pytest.raises(InvalidClickError, match="expired"):
        tokens.read(token, NOW + TOKEN_TTL_MS + 1)
    with pytest.raises(InvalidClickError):
        tokens.read(token, NOW - 1)
