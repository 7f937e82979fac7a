"""The coverage report as one HTML page (served at ``/_stepspec/coverage`` or written to a file).

Server-rendered from the same document as the JSON answer, so it works without JavaScript and as
a standalone file (``stepspec mock --coverage-report coverage.html``), where the stylesheet is
inlined instead of linked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

API_LABELS = {"kibana": "Kibana Workflows", "arcee": "Arcee Orchestra", "trigify": "Trigify"}
COVERAGE_SCRIPT = "coverage.js"
"""The served page's script, beside it under ``/_stepspec/``."""


def render_report(
    report: Mapping[str, Any], *, stylesheet_url: str | None = None, stylesheet: str = ""
) -> str:
    """A complete HTML document for ``report`` (``_report.build_report``).

    Served by the mock (``stylesheet_url`` given: its files sit beside the page), the page also
    links ``coverage.js``, which brings the "only my key" filter and the reset button (they need
    the mock's DELETE), and says which client the report was narrowed to (the served report's
    ``client_filter``), with a way back to all. A written file (stylesheet inlined) has neither.
    """
    served = stylesheet_url is not None
    if stylesheet_url is not None:
        style = f'<link rel="stylesheet" href="{escape(stylesheet_url)}">'
        style += f'<script src="{COVERAGE_SCRIPT}" defer></script>'
    else:
        style = f"<style>{stylesheet or _stylesheet()}</style>"
    clients = report.get("clients") or []
    narrowed = report.get("client_filter")
    if clients:
        body = "".join(_client(client) for client in clients)
    elif narrowed:
        body = (
            '<p class="empty" id="no-clients">Nothing is recorded for client '
            f"<code>{escape(str(narrowed))}</code> yet. Point your app at the mock with that key "
            "and reload.</p>"
        )
    else:
        body = (
            '<p class="empty" id="no-clients">No client has called the mock yet. Point your app '
            "at it (any well-formed key works unless the mock was started with "
            "<code>--api-key</code>) and reload.</p>"
        )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>stepspec coverage</title>{style}</head>"
        '<body class="coverage-page"><header class="topbar"><h1>stepspec <span>coverage</span></h1>'
        '<nav><a href="./">run viewer</a> · <a href="coverage?format=json">JSON</a></nav></header>'
        '<main class="coverage">'
        '<p class="hint">What each client (a short hash of its API key; the key itself is never '
        "stored) has exercised. Grey codes and states were never seen: force a documented status "
        "with <code>Prefer: code=404</code>, or start a live run to meet "
        "<code>waiting_for_input</code>. The run viewer's own requests are not counted. Generated "
        f"{escape(str(report.get('generated_at', '')))}.</p>"
        f"{_controls(report.get('client_filter')) if served else ''}"
        f"{body}</main></body></html>\n"
    )


def _controls(client_filter: str | None) -> str:
    """The filter and reset bar (wired by ``coverage.js``; hidden until it runs)."""
    shown = (
        f'<p class="filtered" id="filtered" data-client="{escape(client_filter)}">Only client '
        f'<code>{escape(client_filter)}</code> · <a href="coverage" id="show-all">show every '
        "client</a></p>"
        if client_filter
        else ""
    )
    scope = "this client" if client_filter else "every client"
    return (
        f"{shown}"
        '<form class="coverage-controls" id="coverage-controls" hidden>'
        '<label>Your API key <input id="my-key" autocomplete="off" spellcheck="false" '
        'title="The key your app sends (the same key box as the run viewer); only its '
        'fingerprint is used"></label>'
        '<button type="submit" id="only-mine">Only my key</button>'
        f'<button type="button" id="reset" data-scope="{scope}">Reset {scope}</button>'
        '<span id="controls-note" class="note" role="status"></span></form>'
    )


def _stylesheet() -> str:
    from importlib import resources

    # The run viewer's stylesheet, read as a file: importing ``mock_server.viewer`` would load
    # its blueprint and the app.
    css = resources.files("mock_server") / "viewer" / "viewer.css"
    return css.read_text(encoding="utf-8")


def _client(client: Mapping[str, Any]) -> str:
    name = escape(str(client["client"]))
    apis = "".join(_api(api) for api in client.get("apis", ()))
    seen = f"first {escape(client['first_seen'])} · last {escape(client['last_seen'])}"
    label = client.get("label")
    tag = f' <span class="client-label">{escape(label)}</span>' if label else ""
    return (
        f'<section class="client" data-client="{name}"><h2>client <code>{name}</code>{tag}</h2>'
        f'<p class="meta">{_count(client["requests"], "request")} · {seen}</p>{apis}</section>'
    )


def _api(section: Mapping[str, Any]) -> str:
    api = str(section["api"])
    rows = "".join(_operation(op) for op in section["operations"])
    return (
        f'<div class="api" data-api="{escape(api)}"><h3>{escape(API_LABELS.get(api, api))} '
        f"<small>{section['operations_exercised']}/{section['operations_documented']} operations "
        f"· {_count(section['requests'], 'request')}</small></h3>"
        '<table class="ops"><thead><tr><th>operation</th><th>endpoint</th><th>requests</th>'
        f"<th>status codes</th></tr></thead><tbody>{rows}</tbody></table>"
        f'<div class="states">{_states("run states", section["run_states"], "run")}'
        f"{_states('step states', section['step_states'], 'step')}</div>"
        f"{_errors(section['error_cases'])}</div>"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _operation(op: Mapping[str, Any]) -> str:
    seen = op["statuses"]
    chips = [
        f'<span class="chip code c{escape(code)[0]}" title="{count} responses">{escape(code)}'
        f"<small>&times;{count}</small></span>"
        for code, count in seen.items()
    ]
    chips += [
        f'<span class="chip missing" title="documented, never returned">{escape(code)}</span>'
        for code in op["missing_statuses"]
    ]
    name = escape(op["operation_id"] or "(undocumented path)")
    endpoint = escape(f"{op['method']} {op['path']}") if op["method"] else "—"
    cls = "op" if op["requests"] else "op unexercised"
    return (
        f'<tr class="{cls}" data-operation="{name}"><td>{name}</td><td><code>{endpoint}</code>'
        f'</td><td class="num">{op["requests"]}</td><td>{"".join(chips)}</td></tr>'
    )


def _states(title: str, states: Mapping[str, Sequence[str]], kind: str) -> str:
    chips = [f'<span class="chip state s-{escape(s)}">{escape(s)}</span>' for s in states["seen"]]
    chips += [f'<span class="chip missing">{escape(s)}</span>' for s in states["missing"]]
    content = "".join(chips) or '<span class="none">none documented</span>'
    return f'<p class="state-line" data-kind="{kind}"><b>{escape(title)}</b> {content}</p>'


def _errors(cases: Sequence[Mapping[str, Any]]) -> str:
    if not cases:
        return '<p class="state-line"><b>error cases</b> <span class="none">none yet</span></p>'
    rows = "".join(
        f'<tr><td class="num">{case["status"]}</td><td><code>{escape(case["case"])}</code></td>'
        f"<td>{escape(case['operation_id'] or '(undocumented path)')}</td>"
        f'<td class="num">{case["count"]}</td></tr>'
        for case in cases
    )
    return (
        '<table class="errors"><thead><tr><th>status</th><th>error case</th><th>operation</th>'
        f"<th>count</th></tr></thead><tbody>{rows}</tbody></table>"
    )
