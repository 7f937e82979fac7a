"""What the app knows about itself and about the request in hand: filled by ``_app``, read below.

``create_app`` stores one ``MockState`` in ``app.extensions[EXTENSION]``; per request, its hooks
record the vendor that owns the path (``set_vendor``), then the OpenAPI operation matched and
its checked query and path values (``set_operation``, ``set_checked_query``). Vendors, the
response self-check, replay and the viewer read them through ``state()``, ``current_vendor()``,
``current_operation()`` and ``checked_query()`` and never import the factory, so the request
state flows one way: ``_app`` → ``_state`` ← readers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app, g

if TYPE_CHECKING:
    from mock_server._context import MockContext
    from mock_server._control import Faults
    from mock_server._http import CachingMiddleware, ResponseCache
    from mock_server._openapi import ApiIndex, OperationSpec
    from mock_server._vendor import Vendor

EXTENSION = "stepspec"
"""The key of the app's ``MockState`` in ``app.extensions``."""


@dataclass
class MockState:
    """What the app keeps about itself (``app.extensions["stepspec"]``)."""

    context: MockContext
    vendors: tuple[Vendor, ...]
    indexes: Mapping[str, ApiIndex]
    cache: ResponseCache
    middleware: CachingMiddleware
    faults: Faults
    operations: dict[tuple[str, str, str], OperationSpec | None] = field(default_factory=dict)
    """(vendor, Flask rule, method) -> the OpenAPI operation it implements."""


def state() -> MockState:
    """The current app's ``MockState``."""
    found: MockState = current_app.extensions[EXTENSION]
    return found


def set_vendor(vendor: Vendor | None) -> None:
    """Record the vendor that owns the current request's path (``_app`` only)."""
    g.stepspec_vendor = vendor


def current_vendor() -> Vendor | None:
    """The vendor that owns the current request's path (None: no API lives there)."""
    vendor: Vendor | None = g.get("stepspec_vendor")
    return vendor


def set_operation(operation: OperationSpec) -> None:
    """Record the OpenAPI operation matched for the current request (``_app`` only)."""
    g.stepspec_operation = operation


def current_operation() -> OperationSpec | None:
    """The OpenAPI operation matched for the current request, if any."""
    operation: OperationSpec | None = g.get("stepspec_operation")
    return operation


def set_checked_query(values: Mapping[str, Any]) -> None:
    """Record the current request's checked parameter values (``_app`` only)."""
    g.stepspec_query = values


def checked_query() -> Mapping[str, Any]:
    """The current request's query and path values, coerced to their documented types.

    Empty when no documented operation was matched (a route the OpenAPI document does not
    model). A request whose values do not fit never reaches a view: the app answers it with the
    vendor's ``query_errors`` first.
    """
    values: Mapping[str, Any] = g.get("stepspec_query", {})
    return values
