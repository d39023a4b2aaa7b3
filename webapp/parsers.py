"""The API's only body parser: JSON, with a bound on nesting so a tiny body cannot exhaust the stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Nothing the API takes nests deeper than 3 levels ({"params": {"ns": [1]}}); 32 leaves room for any
# future parameter while staying far below Python's recursion limit (1,000 frames), which ~2 KB of
# "[[[[…" reaches inside json.load, and which serializers and the JSON fields reach again when they walk it.
MAX_JSON_DEPTH = 32
TOO_DEEP = f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep"


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether lists/objects nest more than ``limit`` levels; iterative, so it cannot recurse too deep itself."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


class NestingLimitedJSONParser(JSONParser):
    """DRF's JSON parser; a body nested too deep is a 400 ParseError instead of a RecursionError (500)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(TOO_DEEP)
        return data
