"""Decoding JSON fast, with exactly the standard library's results.

``loads(data)`` (``data``: bytes) returns what ``json.loads(data)`` returns and raises what it
raises, but decodes with ``orjson`` (several times faster on the large response bodies and
recordings the kit judges). ``orjson`` is stricter than the standard library and decodes one
thing differently, so it only answers when the two agree:

- an integer literal beyond 64 bits becomes a ``float`` in ``orjson`` but stays an ``int`` in
  ``json``: a document with a run of 19 or more digits (the shortest literal that can overflow)
  goes to ``json``, found by one C-speed pass over the bytes. A document that is mostly long
  strings (a HAR file: its bodies are strings) is checked after decoding instead, which costs
  less than a pass over its bytes: a ``float`` of magnitude 2**63 or more anywhere in it (the
  only kind an overflowing integer literal can become) sends it to ``json``;
- whatever ``orjson`` refuses (``NaN``, ``Infinity``, numbers beyond a double, lone surrogates,
  a byte-order mark, UTF-16/32, invalid UTF-8, malformed JSON) goes to ``json``, which decides
  and raises its own error with its own message.

One case is not mirrored: nesting between ~990 and 1,024 levels, where ``json`` runs out of
recursion (``RecursionError``, not a verdict) and ``orjson`` decodes.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
"""Every ASCII digit becomes ``0``, every other byte a space."""
_LONG_NUMBER = b"0" * 19
"""A run this long may be an integer literal beyond 64 bits (2**63 has 19 digits)."""


_INT64 = float(2**63)
"""``orjson`` decodes an integer literal as a ``float`` only from this magnitude on."""


def loads(data: bytes, *, mostly_text: bool = False) -> Any:
    """``json.loads(data)`` (same value, same exceptions), decoded by ``orjson`` when it agrees.

    ``mostly_text``: check the decoded numbers rather than the bytes for long integer literals
    (cheaper when the bytes are mostly long strings, such as a HAR file's bodies).
    """
    if mostly_text or _LONG_NUMBER not in data.translate(_DIGITS):
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # the standard library decides (and words the error)
        else:
            if not mostly_text or not _has_huge_float(value):
                return value
    return json.loads(data)


def _has_huge_float(value: Any) -> bool:
    """Whether a float of magnitude 2**63 or more is anywhere in ``value``."""
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, float) and abs(node) >= _INT64:
            return True
    return False
