"""Graph plumbing for the Cloud-API-compatible business API: Meta's error object, versions, fields, paging, scope."""

from parley.graph.errors import GraphError, graph_error_body, object_not_found
from parley.graph.fields import FieldSpec, parse_fields
from parley.graph.paging import graph_page
from parley.graph.scope import GraphScope
from parley.graph.versions import SUPPORTED_VERSIONS, is_graph_path, parse_version

__all__ = [
    "SUPPORTED_VERSIONS",
    "FieldSpec",
    "GraphError",
    "GraphScope",
    "graph_error_body",
    "graph_page",
    "is_graph_path",
    "object_not_found",
    "parse_fields",
    "parse_version",
]
