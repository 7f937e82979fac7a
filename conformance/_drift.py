"""Drift: what recorded traffic says about the schemas (``stepspec drift FILE.har``).

Every recorded response whose operation documents a JSON schema for its status is walked
alongside that schema (``$ref`` to schema files, ``allOf``, the ``anyOf``/``oneOf`` branches the
value matches, ``properties``, ``additionalProperties``, ``items``). Per object schema it counts
the fields seen that the schema does not describe (with an example value) and the described
fields that never appeared; per ``enum`` and ``format`` the values seen outside them; and for
every ``x-stepspec-inferred`` subschema of the API whether the traffic confirms it (it held in
all N observations), contradicts it (with an example and where it was seen), or never reached
it. That is the evidence a maintainer needs to promote an inferred rule to a normative one, or
to fix it. Drift is evidence, not a verdict: it never fails (exit 0).

``drift(entries, api=None, source=...) -> DriftReport``; ``render_text``, ``render_json``,
``render_html`` format it. Without ``api`` each exchange is matched against every API.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator, FormatChecker

from conformance import _operations, _specs
from conformance._context import NOT_JSON
from conformance._provenance import INFERRED, SOURCE, _walk
from conformance._traffic import to_exchange
from conformance.findings import short

if TYPE_CHECKING:
    from conformance._context import Exchange
    from conformance.har import HarEntry

__all__ = ["DriftReport", "drift", "render_html", "render_json", "render_text"]

FORMAT_VERSION = 1
_FORMATS = FormatChecker()
_MAX_DEPTH = 40


@dataclass
class FieldSeen:
    """A field the schema does not describe: how often, and one value."""

    count: int = 0
    example: Any = None
    at: str = ""


@dataclass
class ObjectStats:
    """One object schema: how often it was observed and which fields came with it."""

    label: str
    observed: int = 0
    described: set[str] = field(default_factory=set)
    seen: dict[str, int] = field(default_factory=dict)
    undocumented: dict[str, FieldSeen] = field(default_factory=dict)

    @property
    def never_seen(self) -> list[str]:
        """Described fields that no observation carried."""
        return sorted(name for name in self.described if not self.seen.get(name))


@dataclass
class ValueStats:
    """Values seen outside an ``enum`` or a ``format``."""

    label: str
    kind: str
    """``enum`` or ``format``."""
    allowed: str
    observed: int = 0
    outside: dict[str, FieldSeen] = field(default_factory=dict)


@dataclass
class RuleStats:
    """One ``x-stepspec-inferred`` rule and what the traffic said about it."""

    label: str
    description: str
    source: str
    observed: int = 0
    held: int = 0
    example: Any = None
    at: str = ""
    why: str = ""
    """What the first contradicting value broke (the validator's message)."""

    @property
    def verdict(self) -> str:
        """``confirmed``, ``contradicted`` or ``not observed``."""
        if not self.observed:
            return "not observed"
        return "confirmed" if self.held == self.observed else "contradicted"


@dataclass
class DriftReport:
    """What the traffic showed (see the module docstring)."""

    source: str
    apis: tuple[str, ...]
    exchanges: int = 0
    compared: int = 0
    """Response bodies compared with a documented schema."""
    objects: dict[str, ObjectStats] = field(default_factory=dict)
    values: dict[str, ValueStats] = field(default_factory=dict)
    rules: dict[str, RuleStats] = field(default_factory=dict)

    @property
    def contradicted(self) -> list[RuleStats]:
        """The inferred rules the traffic contradicts."""
        return [rule for rule in self.rules.values() if rule.verdict == "contradicted"]

    @property
    def confirmed(self) -> list[RuleStats]:
        """The inferred rules that held in every observation."""
        return [rule for rule in self.rules.values() if rule.verdict == "confirmed"]


# -- walking a value alongside its schema ---------------------------------------------------------


def _label(schema_id: str, pointer: str) -> str:
    api, name = _specs.split_schema_id(schema_id)
    return f"{api}:{name}" + (f"#{pointer}" if pointer else "")


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


@cache
def _validator(api: str, ref: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": ref}, registry=_specs.api_registry(api), format_checker=_FORMATS
    )


def _holds(api: str, schema_id: str, pointer: str, value: Any) -> bool:
    return bool(_validator(api, f"{schema_id}#{pointer}").is_valid(value))


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{key!r}]"


class _Walker:
    def __init__(self, report: DriftReport, api: str) -> None:
        self.report = report
        self.api = api

    def value(self, value: Any, schema_id: str, pointer: str, node: Any, path: str) -> None:
        """Walk ``value`` with the subschema ``node`` at ``pointer`` of ``schema_id``."""
        self._walk(value, schema_id, pointer, node, path, 0)

    def _walk(
        self, value: Any, schema_id: str, pointer: str, node: Any, path: str, depth: int
    ) -> None:
        if not isinstance(node, Mapping) or depth > _MAX_DEPTH:
            return
        nodes = list(self._applied(value, schema_id, pointer, node, depth))
        described: set[str] = set()
        open_keys: list[tuple[str, str, Any]] = []
        primary: tuple[str, str] | None = None
        for sid, ptr, sub in nodes:
            self._rule(value, sid, ptr, sub, path)
            self._enum_and_format(value, sid, ptr, sub, path)
            if isinstance(value, dict) and isinstance(sub.get("properties"), Mapping):
                primary = primary or (sid, ptr)
                described |= set(sub["properties"])
                for name, child in sub["properties"].items():
                    if name in value:
                        child_ptr = f"{ptr}/properties/{_escape(name)}"
                        self._walk(
                            value[name], sid, child_ptr, child, _child(path, name), depth + 1
                        )
            if isinstance(value, dict) and isinstance(sub.get("additionalProperties"), Mapping):
                open_keys.append((sid, f"{ptr}/additionalProperties", sub["additionalProperties"]))
            if isinstance(value, dict) and sub.get("patternProperties"):
                open_keys.append((sid, "", None))
            if isinstance(value, list) and isinstance(sub.get("items"), Mapping):
                for index, item in enumerate(value):
                    self._walk(
                        item, sid, f"{ptr}/items", sub["items"], _child(path, index), depth + 1
                    )
        if isinstance(value, dict) and primary is not None:
            self._object(value, primary, described, open_keys, path, depth)

    def _applied(
        self, value: Any, schema_id: str, pointer: str, node: Mapping[str, Any], depth: int
    ) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        """``node`` and every subschema that applies to ``value`` in place."""
        if depth > _MAX_DEPTH:
            return
        yield schema_id, pointer, node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.endswith(".json"):
            target = _specs.schema_id(self.api, ref.removesuffix(".json"))
            yield from self._applied(value, target, "", _specs.schema(target), depth + 1)
        for index, branch in enumerate(node.get("allOf") or ()):
            if isinstance(branch, Mapping):
                yield from self._applied(
                    value, schema_id, f"{pointer}/allOf/{index}", branch, depth + 1
                )
        for keyword in ("anyOf", "oneOf"):
            for index, branch in enumerate(node.get(keyword) or ()):
                branch_ptr = f"{pointer}/{keyword}/{index}"
                if isinstance(branch, Mapping) and _holds(self.api, schema_id, branch_ptr, value):
                    yield from self._applied(value, schema_id, branch_ptr, branch, depth + 1)
                    break

    def _object(
        self,
        value: dict[str, Any],
        primary: tuple[str, str],
        described: set[str],
        open_keys: list[tuple[str, str, Any]],
        path: str,
        depth: int,
    ) -> None:
        label = _label(*primary)
        stats = self.report.objects.setdefault(label, ObjectStats(label))
        stats.observed += 1
        stats.described |= described
        for name in value:
            if name in described:
                stats.seen[name] = stats.seen.get(name, 0) + 1
                continue
            for sid, ptr, sub in open_keys:
                if sub is not None:
                    self._walk(value[name], sid, ptr, sub, _child(path, name), depth + 1)
            if open_keys:
                continue  # described by additionalProperties / patternProperties
            seen = stats.undocumented.setdefault(name, FieldSeen())
            seen.count += 1
            if seen.count == 1:
                seen.example, seen.at = _example(value[name]), _child(path, name)

    def _enum_and_format(
        self, value: Any, schema_id: str, pointer: str, node: Mapping[str, Any], path: str
    ) -> None:
        label = _label(schema_id, pointer)
        if isinstance(node.get("enum"), list):
            allowed = node["enum"]
            stats = self.report.values.setdefault(
                label, ValueStats(label, "enum", ", ".join(map(repr, allowed)))
            )
            stats.observed += 1
            if value not in allowed:
                self._outside(stats, value, path)
        fmt = node.get("format")
        if isinstance(fmt, str) and isinstance(value, str):
            stats = self.report.values.setdefault(label, ValueStats(label, "format", fmt))
            stats.observed += 1
            if not _FORMATS.conforms(value, fmt):
                self._outside(stats, value, path)

    @staticmethod
    def _outside(stats: ValueStats, value: Any, path: str) -> None:
        key = json.dumps(value, sort_keys=True, default=str)
        seen = stats.outside.setdefault(key, FieldSeen())
        seen.count += 1
        if seen.count == 1:
            seen.example, seen.at = value, path

    def _rule(
        self, value: Any, schema_id: str, pointer: str, node: Mapping[str, Any], path: str
    ) -> None:
        if node.get(INFERRED) is not True:
            return
        label = _label(schema_id, pointer)
        rule = self.report.rules.get(label)
        if rule is None:
            return
        rule.observed += 1
        if _holds(self.api, schema_id, pointer, value):
            rule.held += 1
        elif rule.example is None and not rule.at:
            rule.example, rule.at = _example(value), path
            errors = _validator(self.api, f"{schema_id}#{pointer}").iter_errors(value)
            first = next(iter(errors), None)
            rule.why = first.message if first is not None else ""


def _example(value: Any) -> Any:
    """A scalar as it is; an object or array as a bounded repr (a whole body is no example)."""
    return short(value) if isinstance(value, dict | list) else value


def _inferred_rules(api: str) -> Iterator[RuleStats]:
    for schema_id in _specs.schema_ids():
        if _specs.split_schema_id(schema_id)[0] != api:
            continue
        for pointer, node in _walk(_specs.schema(schema_id), ""):
            if isinstance(node, Mapping) and node.get(INFERRED) is True:
                yield RuleStats(
                    label=_label(schema_id, pointer),
                    description=str(node.get("description", "")),
                    source=str(node.get(SOURCE, "")),
                )


# -- the report -----------------------------------------------------------------------------------


def _exchange(entry: HarEntry, apis: Iterable[str]) -> tuple[str, Exchange] | None:
    for api in apis:
        exchange = to_exchange(api, entry)
        if exchange is not None:
            return api, exchange
    return None


def _schema_of(api: str, exchange: Exchange) -> str | None:
    status = exchange.status
    if status is None:
        return None
    found = _operations.response_schema(exchange.operation, status)
    if found is None and 400 <= status < 500:
        found = _operations.profile(api).error_schema
    return found


def drift(
    entries: Iterable[HarEntry], *, api: str | None = None, source: str = "recorded traffic"
) -> DriftReport:
    """Compare recorded ``entries`` with the schemas (see the module docstring)."""
    apis = (api,) if api else _specs.APIS
    if api is not None:
        _operations.profile(api)  # an unknown API is a usage error
    report = DriftReport(source=source, apis=apis)
    for name in apis:
        for rule in _inferred_rules(name):
            report.rules[rule.label] = rule
    walkers = {name: _Walker(report, name) for name in apis}
    for entry in entries:
        report.exchanges += 1
        found = _exchange(entry, apis)
        if found is None:
            continue
        owner, exchange = found
        schema_id = _schema_of(owner, exchange)
        body = exchange.json
        if schema_id is None or body is NOT_JSON:
            continue
        report.compared += 1
        walkers[owner].value(body, schema_id, "", _specs.schema(schema_id), "$")
    return report


def as_dict(report: DriftReport) -> dict[str, Any]:
    """The report as JSON-ready data (the ``--format json`` shape)."""
    return {
        "format": "stepspec-drift",
        "version": FORMAT_VERSION,
        "source": report.source,
        "apis": list(report.apis),
        "exchanges": report.exchanges,
        "compared": report.compared,
        "schemas": [
            {
                "schema": stats.label,
                "observed": stats.observed,
                "undocumented_fields": [
                    {"field": name, "count": seen.count, "example": seen.example, "at": seen.at}
                    for name, seen in sorted(stats.undocumented.items())
                ],
                "never_seen": stats.never_seen,
            }
            for stats in sorted(report.objects.values(), key=lambda s: s.label)
        ],
        "values_outside": [
            {
                "schema": stats.label,
                "kind": stats.kind,
                "allowed": stats.allowed,
                "observed": stats.observed,
                "value": seen.example,
                "count": seen.count,
                "at": seen.at,
            }
            for stats in sorted(report.values.values(), key=lambda s: s.label)
            for _, seen in sorted(stats.outside.items())
        ],
        "inferred_rules": [
            {
                "rule": rule.label,
                "verdict": rule.verdict,
                "observed": rule.observed,
                "held": rule.held,
                "example": None if rule.verdict != "contradicted" else rule.example,
                "at": rule.at if rule.verdict == "contradicted" else None,
                "why": rule.why if rule.verdict == "contradicted" else None,
                "description": rule.description,
                "source": rule.source,
            }
            for rule in sorted(report.rules.values(), key=lambda r: (r.verdict, r.label))
        ],
    }


def render_json(report: DriftReport) -> str:
    """The drift report as JSON text."""
    return json.dumps(as_dict(report), indent=2, default=str) + "\n"


def _summary(report: DriftReport) -> str:
    return (
        f"stepspec drift: {report.source} ({', '.join(report.apis)}): {report.exchanges} "
        f"exchanges, {report.compared} bodies compared with their schemas"
    )


def render_text(report: DriftReport) -> str:
    """The drift report for people."""
    data = as_dict(report)
    lines = [_summary(report)]
    for schema in data["schemas"]:
        if not schema["undocumented_fields"] and not schema["never_seen"]:
            continue
        lines += ["", f"{schema['schema']} ({schema['observed']} observations)"]
        if schema["undocumented_fields"]:
            lines.append("  fields the schema does not describe:")
            lines += [
                f"    {item['field']}: seen {item['count']} times, e.g. {short(item['example'])} "
                f"at {item['at']}"
                for item in schema["undocumented_fields"]
            ]
        if schema["never_seen"]:
            lines.append(f"  described fields never seen: {', '.join(schema['never_seen'])}")
    if data["values_outside"]:
        lines += ["", "values outside the schema:"]
        lines += [
            f"  {item['schema']}: {short(item['value'])} seen {item['count']} times at "
            f"{item['at']} ({item['kind']}: {item['allowed']})"
            for item in data["values_outside"]
        ]
    lines += ["", "inferred rules (x-stepspec-inferred):"]
    for rule in data["inferred_rules"]:
        if rule["verdict"] == "confirmed":
            lines.append(f"  CONFIRMED     {rule['rule']}: held in all {rule['observed']}")
        elif rule["verdict"] == "contradicted":
            broken = rule["observed"] - rule["held"]
            lines.append(
                f"  CONTRADICTED  {rule['rule']}: broken in {broken} of {rule['observed']}, "
                f"e.g. {short(rule['example'])} at {rule['at']} ({rule['why']})"
            )
    unseen = sum(1 for rule in data["inferred_rules"] if rule["verdict"] == "not observed")
    if unseen:
        lines.append(f"  ({unseen} inferred rules were not reached by this traffic)")
    lines += [
        "",
        f"{len(report.confirmed)} inferred rules confirmed, {len(report.contradicted)} "
        f"contradicted; {sum(len(s.undocumented) for s in report.objects.values())} "
        "undocumented fields; "
        f"{sum(len(v.outside) for v in report.values.values())} values outside the schema",
    ]
    return "\n".join(lines) + "\n"


def render_html(report: DriftReport) -> str:
    """The drift report as one self-contained HTML page (no script, no external resource)."""
    data = as_dict(report)

    def cell(value: Any) -> str:
        return f"<td>{html.escape(value if isinstance(value, str) else short(value))}</td>"

    def table(title: str, head: list[str], rows: list[list[Any]]) -> str:
        if not rows:
            return f"<h2>{html.escape(title)}</h2><p>none</p>"
        header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
        return f"<h2>{html.escape(title)}</h2><table><tr>{header}</tr>{body}</table>"

    undocumented = [
        [s["schema"], f["field"], str(f["count"]), f["example"], f["at"]]
        for s in data["schemas"]
        for f in s["undocumented_fields"]
    ]
    never = [[s["schema"], ", ".join(s["never_seen"])] for s in data["schemas"] if s["never_seen"]]
    outside = [
        [v["schema"], v["kind"], v["value"], str(v["count"]), v["at"]]
        for v in data["values_outside"]
    ]
    rules = [
        [
            r["rule"],
            r["verdict"],
            f"{r['held']}/{r['observed']}",
            "" if r["example"] is None else r["example"],
            r["at"] or "",
            r["why"] or "",
        ]
        for r in data["inferred_rules"]
        if r["verdict"] != "not observed"
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>stepspec drift</title><style>body{font:14px system-ui,sans-serif;margin:2em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:left;vertical-align:top}</style></head><body>"
        f"<h1>stepspec drift</h1><p>{html.escape(_summary(report))}</p>"
        + table(
            "Fields the schema does not describe",
            ["schema", "field", "count", "example", "at"],
            undocumented,
        )
        + table("Described fields never seen", ["schema", "fields"], never)
        + table("Values outside the schema", ["schema", "kind", "value", "count", "at"], outside)
        + table(
            "Inferred rules (x-stepspec-inferred)",
            ["rule", "verdict", "held", "example", "at", "why"],
            rules,
        )
        + "</body></html>\n"
    )
