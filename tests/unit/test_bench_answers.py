"""The bench clients read what admission control answers: status, Retry-After, the Graph error code."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from proto import HttpConnection  # noqa: E402
from stats import summarize_answers  # noqa: E402
from workers import _graph_code  # noqa: E402

THROTTLED = (
    b'{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,'
    b'"error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."}}}'
)


def answers(*responses: bytes, asked: bool = True) -> list[tuple[int, bool, bytes]]:
    """What the client reports for these responses, each arriving after a request (or unasked)."""
    got: list[tuple[int, bool, bytes]] = []
    conn = HttpConnection(lambda c, status, body: got.append((status, c.retry_after, body)))
    for raw in responses:
        conn.busy = asked  # HttpConnection.send marks the connection busy
        conn.data_received(raw)
    return got


def test_retry_after_is_seen_on_a_refusal_and_not_on_the_next_answer() -> None:
    refusal = (
        b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nRetry-After: 1\r\n"
        b"content-length: " + str(len(THROTTLED)).encode() + b"\r\n\r\n" + THROTTLED
    )
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
    assert answers(refusal, ok) == [(429, True, THROTTLED), (200, False, b"{}")]


def test_the_servers_408_on_an_idle_connection_is_not_an_answer() -> None:
    """uvicorn's header deadline answers 408 on an idle keep-alive connection: no send is answered by it."""
    assert answers(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n", asked=False) == []


def test_graph_code_of_a_throttled_send() -> None:
    assert _graph_code(THROTTLED) == "130429"
    assert _graph_code(b'{"detail":"busy"}') == ""


def test_answers_grouped_by_what_an_overloaded_client_sees() -> None:
    got = summarize_answers({"200": 5, "503": 3, "429": 2, "500": 1}, {"503": 3, "429": 1})
    assert got["answers"] == {"2xx": 5, "503": 3, "429": 2, "other": 1}
    assert (got["refused"], got["refused_with_retry_after"], got["retry_after_present"]) == (5, 4, False)
    assert summarize_answers({"200": 5}, {})["retry_after_present"] is None
