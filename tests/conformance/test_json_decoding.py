"""``conformance._json.loads`` decodes exactly as ``json.loads`` does: same values, same types,
same errors with the same messages, on edge cases and on mutated real bodies."""

from __future__ import annotations

import json
import math
import random
from importlib.resources import files
from typing import Any

import pytest

from conformance import _json

EDGE_CASES = [
    b'{"a": 1, "b": [true, false, null], "c": "\\u00e9\xc3\xa9"}',
    b"123456789012345678901234567890",  # beyond 64 bits: orjson would give a float
    b"[18446744073709551616, -9223372036854775809]",
    b'{"id": 1234567890123456789}',  # 19 digits, fits in 64 bits
    b'{"id": "12345678901234567890123"}',  # a long digit run inside a string
    b"9223372036854775807",
    b"[0.30000000000000004, 5e-324, 1e-400, 2.2250738585072011e-308, -0.0, 1E2]",
    b"NaN",
    b"[Infinity, -Infinity]",
    b"1e400",
    b"1.7976931348623157e309",
    b'"\\ud800"',  # a lone surrogate
    b"\xef\xbb\xbf{}",  # a UTF-8 byte-order mark
    '{"a": "utf-16"}'.encode("utf-16"),
    b'"\xff"',  # invalid UTF-8
    b'{"a": 1, "b": 2, "a": 3}',  # duplicate keys: the last value, the first position
    b"",
    b" ",
    b"[1,]",
    b'"\x01"',
    b"01",
    b"1 2",
    b"\x0c[]",
    b"\t[]\r\n",
    b"[" * 50 + b"]" * 50,
]


def _outcome(decode: Any, data: bytes) -> Any:
    try:
        value = decode(data)
    except (ValueError, UnicodeDecodeError) as error:
        return ("error", type(error), str(error))
    return ("value", _typed(value))


def _typed(value: Any) -> Any:
    """``value`` with every scalar's type spelled out (1 and 1.0 and True must not compare equal),
    NaN made comparable, and dict key order kept."""
    if isinstance(value, dict):
        return ("object", [(key, _typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("array", [_typed(item) for item in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, repr(value))


def _fast(mostly_text: bool) -> Any:
    return lambda data: _json.loads(data, mostly_text=mostly_text)


@pytest.mark.parametrize("mostly_text", [False, True], ids=["bytes-scan", "value-scan"])
@pytest.mark.parametrize("data", EDGE_CASES, ids=range(len(EDGE_CASES)))
def test_edge_cases_decode_as_the_standard_library_does(data: bytes, mostly_text: bool) -> None:
    assert _outcome(_fast(mostly_text), data) == _outcome(json.loads, data)


@pytest.mark.parametrize("mostly_text", [False, True], ids=["bytes-scan", "value-scan"])
def test_a_big_integer_stays_an_integer(mostly_text: bool) -> None:
    loads = _fast(mostly_text)
    assert loads(b'{"n": [{"m": 123456789012345678901234567890}]}') == {
        "n": [{"m": 123456789012345678901234567890}]
    }
    assert type(loads(b"18446744073709551616")) is int
    assert type(loads(b"-9223372036854775809")) is int


def _bodies() -> list[bytes]:
    root = files("conformance.fixtures")
    found: list[bytes] = []
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node.iterdir():
            if child.is_dir():
                stack.append(child)
            elif child.name.endswith(".json"):
                found.append(child.read_bytes())
    return sorted(found)


@pytest.mark.parametrize("mostly_text", [False, True], ids=["bytes-scan", "value-scan"])
def test_mutated_fixture_bodies_decode_as_the_standard_library_does(mostly_text: bool) -> None:
    loads = _fast(mostly_text)
    bodies = _bodies()
    assert len(bodies) > 20
    rng = random.Random(15)
    alphabet = b'0123456789-+.eE"\\{}[],: \t\nNaIfinty\x00\xff'
    cases = 0
    for body in bodies:
        assert _outcome(loads, body) == _outcome(json.loads, body)
        for _ in range(20):
            mutated = bytearray(body)
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(len(mutated) or 1)
                mutated[at:at] = bytes([rng.choice(alphabet)]) * rng.randint(1, 25)
            data = bytes(mutated)
            assert _outcome(loads, data) == _outcome(json.loads, data), data[:200]
            cases += 1
    assert cases >= 400
