"""Graph API versions: `v17.0` to `v25.0`, as pywa's range.

As on Graph, a call to an expired version (heyoo still calls v14.0 and v15.0) is served by the oldest
available one; a version newer than the newest is an error.
"""

from __future__ import annotations

import re

from parley.graph.errors import GraphError

SUPPORTED_VERSIONS = range(17, 26)
_GRAPH_PATH = re.compile(r"^/v(\d+)\.0(/|$)")


def is_graph_path(path: str) -> bool:
    return _GRAPH_PATH.match(path) is not None


def parse_version(raw: str) -> int:
    """`"23.0"` -> 23; anything else is Meta's "unknown path" error."""
    major, dot, minor = raw.partition(".")
    if not (dot and minor == "0" and major.isdigit() and 1 <= int(major) <= SUPPORTED_VERSIONS[-1]):
        raise GraphError(100, f"unsupported API version v{raw}: use v17.0 to v25.0", http_status=400)
    return max(int(major), SUPPORTED_VERSIONS[0])
