"""Which live-run store a configuration names: a SQLite file (the default) or a Redis server.

``--store`` / ``STEPSPEC_STORE`` is a path (SQLite, embedded, no setup; one host) or a URL
``redis://[user:password@]host:port/db`` (``rediss://`` for TLS): one Redis shared by several
mock hosts, see ``_redis_store``. Without either, each app gets a fresh SQLite file in a
temporary directory that the process removes when it exits (``temporary_store_path``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mock_server.live._redis_store import RedisStore, is_redis_url, redacted
from mock_server.live._store import LiveStore, SqliteStore, temporary_store_path

if TYPE_CHECKING:
    from mock_server._config import MockConfig


def open_store(config: MockConfig) -> LiveStore:
    """The store ``config.state_path`` names (Redis: checked reachable, else
    ``StoreUnavailable``)."""
    location = config.state_path
    if location and is_redis_url(location):
        return RedisStore(
            location, seed=config.seed, prefix=config.store_prefix, ttl_s=config.run_ttl
        )
    return SqliteStore(location or temporary_store_path())


def describe(location: str | None) -> str:
    """The store as the banner shows it (a Redis URL without its password)."""
    if location and is_redis_url(location):
        return redacted(location)
    return str(location)
