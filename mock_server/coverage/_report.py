"""The coverage report document: what each client exercised, against what the specs declare.

``build_report`` turns the stored facts (``_store``) into the document served as
JSON at ``/_stepspec/coverage``, rendered as HTML by ``_html`` and written by ``stepspec
mock --coverage-report``: clients, then the APIs each used, then every documented operation with
the status codes seen and missing, the run and step states seen and missing, and the error cases.
``docs/frontend.md`` shows its shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from conformance._context import WRONG_KEY
from mock_server._openapi import ApiIndex, schema_file
from mock_server.coverage._facts import ANONYMOUS, fingerprint

REPORT_VERSION = 1
KNOWN_CLIENTS: Mapping[str, str] = {fingerprint(WRONG_KEY): "stepspec check probe"}
"""Clients that are stepspec's own, by fingerprint: the made-up key the kit's auth checks send
(a frontend team should not mistake it for a colleague's app). Reports label them and list them
after the real clients."""
STATE_SCHEMAS: Mapping[str, Mapping[str, str]] = {
    "kibana": {"run": "execution-status", "step": "execution-status"},
    "arcee": {"run": "status", "step": "status"},
    "trigify": {"run": "execution-status", "step": "step-status"},
}
"""Which schema of each API lists the states a run and a step can be in (the coverage universe)."""


def state_universe(api: str, kind: str) -> tuple[str, ...]:
    """The documented (or inferred) states of ``kind`` (run/step) for ``api``, in schema order."""
    name = STATE_SCHEMAS.get(api, {}).get(kind)
    if name is None:
        return ()
    pending: list[Any] = [schema_file(api, f"{name}.json")]
    while pending:
        node = pending.pop(0)
        if isinstance(node, Mapping):
            if isinstance(node.get("enum"), list):
                return tuple(str(value) for value in node["enum"])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return ()


def build_report(
    rows: Sequence[tuple[Any, ...]],
    indexes: Mapping[str, ApiIndex],
    canonical: Mapping[str, Mapping[str, str]],
) -> dict[str, Any]:
    """The report document: clients (stepspec's own probes and anonymous last), then APIs,
    then operations."""
    by_client: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for row in rows:
        by_client.setdefault(row[0], {}).setdefault(row[1], []).append(row)
    clients = []
    for client, apis in sorted(by_client.items(), key=lambda item: _client_order(item[0])):
        sections = [
            _api_section(api, api_rows, indexes.get(api), canonical.get(api, {}))
            for api, api_rows in sorted(apis.items())
        ]
        all_rows = [row for api_rows in apis.values() for row in api_rows]
        clients.append(
            {
                "client": client,
                "label": KNOWN_CLIENTS.get(client),
                "requests": sum(section["requests"] for section in sections),
                "first_seen": _iso(min(row[7] for row in all_rows)),
                "last_seen": _iso(max(row[8] for row in all_rows)),
                "apis": sections,
            }
        )
    return {
        "stepspec_coverage": REPORT_VERSION,
        "generated_at": _iso(int(datetime.now(UTC).timestamp() * 1_000_000)),
        "clients": clients,
    }


def _client_order(client: str) -> int:
    """Real clients first, then stepspec's own probes, then anonymous (a stable sort keeps the
    store's order inside each group)."""
    return 2 if client == ANONYMOUS else 1 if client in KNOWN_CLIENTS else 0


def _api_section(
    api: str,
    rows: Sequence[tuple[Any, ...]],
    index: ApiIndex | None,
    canonical: Mapping[str, str],
) -> dict[str, Any]:
    calls: dict[str, dict[str, int]] = {}
    errors = []
    states: dict[str, set[str]] = {"run_state": set(), "step_state": set()}
    for _, _, kind, operation, status, detail, count, _, _ in rows:
        if kind == "call":
            calls.setdefault(operation, {})[str(status)] = count
        elif kind == "error":
            case = {"operation_id": operation or None, "status": status, "case": detail}
            errors.append({**case, "count": count})
        elif kind in states:
            states[kind].add(detail)
    operations = []
    documented: dict[str, dict[str, Any]] = {}
    for op in index.operations if index is not None else ():
        name = canonical.get(op.operation_id, op.operation_id)
        entry = documented.setdefault(
            name,
            {"operation_id": name, "method": op.method.upper(), "path": op.path, "codes": set()},
        )
        if name == op.operation_id:
            entry["path"] = op.path
        entry["codes"].update(code for code in op.responses if code.isdigit())
    for name in sorted(documented, key=lambda n: (documented[n]["path"], documented[n]["method"])):
        entry = documented[name]
        operations.append(_operation(entry, calls.pop(name, {})))
    for name, seen in sorted(calls.items()):  # requests no documented operation matches
        operations.append(
            _operation({"operation_id": name or None, "method": None, "path": None}, seen)
        )
    exercised = sum(1 for op in operations if op["requests"] and op["operation_id"])
    return {
        "api": api,
        "requests": sum(op["requests"] for op in operations),
        "operations_exercised": exercised,
        "operations_documented": len(documented),
        "operations": operations,
        "run_states": _states(states["run_state"], state_universe(api, "run")),
        "step_states": _states(states["step_state"], state_universe(api, "step")),
        "error_cases": sorted(errors, key=_error_order),
    }


def _error_order(case: Mapping[str, Any]) -> tuple[int, str, str]:
    return (case["status"], case["operation_id"] or "", case["case"])


def _operation(entry: Mapping[str, Any], seen: Mapping[str, int]) -> dict[str, Any]:
    codes: set[str] = set(entry.get("codes", ()))
    return {
        "operation_id": entry["operation_id"],
        "method": entry["method"],
        "path": entry["path"],
        "requests": sum(seen.values()),
        "statuses": dict(sorted(seen.items())),
        "documented_statuses": sorted(codes),
        "missing_statuses": sorted(codes - set(seen)),
        "undocumented_statuses": sorted(set(seen) - codes) if codes else [],
    }


def _states(seen: set[str], universe: Sequence[str]) -> dict[str, list[str]]:
    ordered = [state for state in universe if state in seen]
    ordered += sorted(seen - set(universe))
    return {"seen": ordered, "missing": [state for state in universe if state not in seen]}


def _iso(us: int) -> str:
    moment = datetime.fromtimestamp(us / 1_000_000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
