"""The shared timestamp formats (``mock_server._stamp``) equal ``datetime``'s own formatting."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from mock_server._stamp import iso_micros, iso_millis, millis, space_timestamp


def _moment(us: int) -> datetime:
    return datetime.fromtimestamp(us // 1_000_000, UTC).replace(microsecond=us % 1_000_000)


@given(st.integers(0, 4 * 10**15))
def test_the_formats_match_datetime(us: int) -> None:
    moment = _moment(us)
    assert iso_micros(us) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert iso_millis(us) == moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{us // 1000 % 1000:03d}Z"
    assert space_timestamp(us) == moment.isoformat(sep=" ", timespec="microseconds")
    assert millis(us) * 1000 <= us < (millis(us) + 1) * 1000


def test_documented_examples() -> None:
    us = int(datetime(2025, 3, 12, 0, 59, 55, tzinfo=UTC).timestamp()) * 1_000_000 + 465_508
    assert iso_micros(us) == "2025-03-12T00:59:55.465508Z"
    assert iso_millis(us) == "2025-03-12T00:59:55.465Z"
    assert space_timestamp(us) == "2025-03-12 00:59:55.465508+00:00"


@given(st.integers(-(10**14), 4 * 10**15), st.integers(1, 90_000_000))
def test_nearby_instants_share_a_memoised_minute_and_still_match(us: int, step: int) -> None:
    # ``iso_micros`` memoises the head of each minute: instants of one run, crossing minute
    # and day boundaries (and before 1970), must still read as ``datetime`` writes them.
    for moment_us in range(us, us + 40 * step, step):
        expected = _moment(moment_us).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert iso_micros(moment_us) == expected
