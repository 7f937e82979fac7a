"""The passive judge: the kit's checks over traffic it did not send (a proxy, a HAR recording).

Public API (stable; ``stepspec proxy`` builds on it). ``PassiveJudge(api, strict=False,
checks=None, source="recorded traffic")`` is thread-safe and takes ``HarEntry`` values one at a
time:

- ``observe(entry) -> list[Finding]``: judges the entry on its own and, for a successful GET,
  re-runs the cross-exchange checks over everything seen so far; returns only findings not
  reported before, deduplicated by (check, operation, JSON path), counted under ``strict``;
- ``add(entry) -> list[Finding]``: only the entry on its own (cheap; not deduplicated), for
  callers that batch the cross-exchange pass;
- ``findings()``: every finding so far, one per (check, operation, path);
- ``report() -> runner.Report``: the same report a live run gives, so the text, JSON and JUnit
  renderers and the exit codes work unchanged; ``exchanges`` and ``ignored`` (entries that are
  no call of the API) count what it saw.

``judge_entries(api, entries, ...)`` is the one-shot form ``stepspec check --har`` uses (exit 3
when the recording holds no call of the API or nothing could be tested offline).

No rule is re-implemented here; the registered checks run as they are:

- ``response`` checks judge every recorded exchange of the API (schema of the matched
  response, status, media type, error envelope, semantics, ids echoed);
- ``target`` checks (consistency, pagination, spaces) run against an ``OfflineContext``: a
  ``_context.Context`` whose ``get`` answers from the recording (same operation, path
  parameters, query and space) and sends nothing. What a check asks for that was not recorded
  makes its case "not tested: offline";
- ``operation`` checks (auth, unknown ids), write checks and fuzzing need requests of their own,
  so their cases are "not tested: offline".

Discovery runs as live, against the recording; when the recording does not hold the list pages
discovery asks for, the ids come from the recorded exchanges themselves.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from conformance import _operations
from conformance._client import BoundedClient
from conformance._context import Context, Exchange, _query_pairs
from conformance._problems import merge_findings, problem_key
from conformance._traffic import to_exchange
from conformance.errors import StepspecError
from conformance.findings import Finding, finding_sort_key
from conformance.runner import Report, RunConfig, _cases, _matches, _safely

if TYPE_CHECKING:
    from conformance._specs import Operation
    from conformance.checks import Check
    from conformance.har import HarEntry

__all__ = ["OFFLINE", "OfflineContext", "PassiveJudge", "RecordingIndex", "judge_entries"]

OFFLINE = "offline"
"""How every offline reason starts (reports print it after 'not tested:')."""
RECORDED_ORIGIN = "http://recorded.invalid"
"""The base URL the offline context builds its lookup URLs on (never contacted)."""
_UNSET: Any = object()


def _key(
    operation_id: str,
    params: Mapping[str, str],
    query: Iterable[tuple[str, str]],
    space: str | None,
) -> tuple[Any, ...]:
    return (operation_id, tuple(sorted(params.items())), tuple(sorted(query)), space)


class RecordingIndex:
    """Recorded exchanges by request (operation, path parameters, sorted query, space).

    Grows as a judge observes; contexts look requests up in it without copying it.
    """

    def __init__(self, recorded: Iterable[Exchange] = ()) -> None:
        self.exact: dict[tuple[Any, ...], list[Exchange]] = defaultdict(list)
        self.loose: dict[tuple[Any, ...], list[Exchange]] = defaultdict(list)
        """Without the query (discovery's fallback when list pages were recorded otherwise)."""
        for exchange in recorded:
            self.add(exchange)

    def add(self, exchange: Exchange) -> None:
        """Index one more exchange."""
        key = _key(exchange.operation.operation_id, exchange.params, exchange.query, exchange.space)
        self.exact[key].append(exchange)
        self.loose[key[:2] + key[3:]].append(exchange)


class OfflineContext(Context):
    """A check context whose requests are answered from recorded exchanges (nothing is sent)."""

    def __init__(
        self,
        config: RunConfig,
        recorded: Sequence[Exchange],
        client: BoundedClient | None = None,
        index: RecordingIndex | None = None,
    ) -> None:
        # The client is never asked to send: checks only read its ``mask`` (a judge shares one
        # across its contexts).
        client = client if client is not None else BoundedClient(timeout=config.timeout)
        super().__init__(config, client, _operations.profile(config.api))
        self.exchanges = list(recorded)
        self.index = index if index is not None else RecordingIndex(recorded)
        self._cursor: dict[tuple[Any, ...], int] = {}
        self.misses: dict[tuple[str, str], str] = {}
        """(check, operationId) -> the first request the recording could not answer."""

    def get(
        self,
        operation: Operation,
        params: Mapping[str, str] | None = None,
        query: Mapping[str, str | Sequence[str]] | None = None,
        *,
        credential: Any = "default",
        space: str | None = _UNSET,
        fresh: bool = False,
    ) -> Exchange | None:
        """The recorded answer to this request (see the module docstring), or None."""
        space = self.config.space if space is _UNSET else space
        pairs = _query_pairs(query)
        key = _key(operation.operation_id, params or {}, pairs, space)
        exact = self.index.exact.get(key, ())
        candidates = [ex for ex in exact if _credential_fits(ex, credential)]
        if not candidates and self.current == "discovery":
            loose = self.index.loose.get(key[:2] + key[3:], ())
            candidates = [ex for ex in loose if ex.ok and _credential_fits(ex, credential)]
        if not candidates:
            url = self._url(operation, params or {}, pairs, space).removeprefix(RECORDED_ORIGIN)
            who = {"none": " without a credential", "wrong": " with a made-up credential"}
            self.misses.setdefault(
                (self.current, operation.operation_id),
                f"{OFFLINE}: the recording has no GET {url}{who.get(credential, '')}",
            )
            return None
        self.touched.setdefault(self.current, set()).add(operation.operation_id)
        position = self._cursor.get(key, -1) + 1 if fresh else 0
        position = min(position, len(candidates) - 1)
        if fresh:
            self._cursor[key] = position
        return candidates[position]

    def post(self, operation: Operation, *args: Any, **kwargs: Any) -> Exchange | None:
        """Writes are never sent offline."""
        self.misses.setdefault(
            (self.current, operation.operation_id), f"{OFFLINE}: a write is never sent"
        )
        return None


def _credential_fits(exchange: Exchange, credential: str) -> bool:
    if credential == "wrong":
        return False  # a recording cannot tell a made-up key from the real one
    if credential == "none":
        return exchange.credential == "none"
    # The kit's own probes with a made-up key look like credentialed requests once redacted.
    return exchange.credential == "default" and exchange.status not in (401, 403)


class PassiveJudge:
    """Judges exchanges as they are observed (see the module docstring). Thread-safe."""

    def __init__(
        self,
        api: str,
        *,
        strict: bool = False,
        checks: Sequence[str] | None = None,
        source: str = "recorded traffic",
    ) -> None:
        from conformance.checks import select

        self.config = RunConfig(
            api=api, base_url=RECORDED_ORIGIN, strict=strict, checks=tuple(checks or ()) or None
        )
        self.source = source
        self.selected: list[Check] = select(self.config.checks)
        self.exchanges: list[Exchange] = []
        self.ignored = 0
        """Entries that are no call of this API (other paths, preflights, redirect hops)."""
        self._raw: list[Finding] = []
        self._exercised: dict[str, set[str]] = defaultdict(set)
        self._reported: set[tuple[str, ...]] = set()
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._client = BoundedClient(timeout=self.config.timeout)
        self._probe = OfflineContext(self.config, [], self._client)
        self._index = RecordingIndex()

    # -- observing ---------------------------------------------------------------------------

    def add(self, entry: HarEntry) -> list[Finding]:
        """Record ``entry`` and judge it on its own; all its response findings (not deduped)."""
        return self._judge(entry)[1]

    def _judge(self, entry: HarEntry) -> tuple[Exchange | None, list[Finding]]:
        exchange = to_exchange(self.config.api, entry)
        if exchange is None:
            with self._lock:
                self.ignored += 1
            return None, []
        found: list[Finding] = []
        probe = self._probe
        for chk in self.selected:
            if chk.scope != "response" or exchange.status == 429:
                continue  # a rate limit says nothing about the API (as in a live run)
            if _matches(chk.statuses, exchange.status, exchange.result.error is not None):
                probe.current = chk.name
                found.extend(_safely(chk, probe, exchange))
                with self._lock:
                    self._exercised[chk.name].add(exchange.operation.operation_id)
        with self._lock:
            self.exchanges.append(exchange)
            self._index.add(exchange)
            self._raw.extend(found)
        return exchange, found

    def observe(self, entry: HarEntry) -> list[Finding]:
        """Judge ``entry`` alone and with what was seen before; only findings not reported yet.

        A successful GET also re-runs the cross-exchange checks (consistency, pagination) over
        everything seen so far, since it may complete a comparison.
        """
        exchange, found = self._judge(entry)
        if exchange is not None and exchange.ok and entry.method.upper() == "GET":
            found = found + self._target_findings(self._context())
        return self._new(found)

    def _new(self, findings: Iterable[Finding]) -> list[Finding]:
        fresh: list[Finding] = []
        with self._lock:
            for finding in sorted(findings, key=finding_sort_key):
                counted = finding.counted(strict=self.config.strict)
                key = problem_key(counted)  # one problem, one finding (as in the report)
                if key in self._reported:
                    continue
                self._reported.add(key)
                fresh.append(counted)
        return fresh

    # -- the cross-exchange checks -------------------------------------------------------------

    def _context(self) -> OfflineContext:
        from conformance._discovery import discover

        with self._lock:
            recorded = list(self.exchanges)
        # The shared index may grow while the checks run; an answer newer than the snapshot
        # is still an answer that was recorded.
        ctx = OfflineContext(_in_space(self.config, recorded), recorded, self._client, self._index)
        try:
            discover(ctx)
        except StepspecError as error:
            ctx.ids.notes.append(f"offline discovery stopped: {error}")
        _offline_notes(ctx)
        _ids_from_recording(ctx, recorded)
        with self._lock:  # a response check that broke is not tested (as in a live run)
            for key, reason in self._probe.skips.items():
                ctx.skips.setdefault(key, reason)
        return ctx

    def _target_findings(self, ctx: OfflineContext) -> list[Finding]:
        found: list[Finding] = []
        for chk in self.selected:
            if chk.scope == "target":
                ctx.current = chk.name
                found.extend(_safely(chk, ctx))
        return found

    # -- the verdict ---------------------------------------------------------------------------

    def findings(self) -> list[Finding]:
        """Every finding so far (response and cross-exchange), one per check, operation, path."""
        ctx = self._context()
        raw = self._target_findings(ctx)
        with self._lock:
            raw = list(self._raw) + raw
        return merge_findings(raw, strict=self.config.strict)

    def report(self) -> Report:
        """The verdict on everything observed, as the runner's ``Report``."""
        ctx = self._context()
        target = self._target_findings(ctx)
        operations = _operations.logical_operations(self.config.api)
        with self._lock:
            raw = list(self._raw) + target
            exercised = {name: set(ops) for name, ops in self._exercised.items()}
            recorded = list(self.exchanges)
        for chk in self.selected:
            if chk.scope == "operation":
                for op in operations:
                    if chk.applies(ctx.profile, op):
                        ctx.skips[(chk.name, op.operation_id)] = (
                            f"{OFFLINE}: the check sends requests of its own"
                        )
            elif chk.scope == "target":
                for op in operations:
                    key = (chk.name, op.operation_id)
                    if op.operation_id not in ctx.touched.get(chk.name, set()):
                        ctx.skips.setdefault(
                            key,
                            ctx.misses.get(key)
                            or f"{OFFLINE}: the recording holds nothing this check compares",
                        )
        called: dict[str, int] = defaultdict(int)
        for exchange in recorded:
            called[exchange.operation.operation_id] += 1
        not_tested = {
            op.operation_id: f"{OFFLINE}: the recording has no exchange of this operation"
            for op in operations
            if op.operation_id not in called
        }
        notes = [
            *ctx.ids.notes,
            f"offline: judged {len(recorded)} recorded exchange(s) of {self.source}; no request "
            "was sent",
            "offline: the auth, not-found, lifecycle and fuzz checks need requests of their own "
            "and were not run",
        ]
        if self.ignored:
            notes.append(
                f"offline: {self.ignored} recorded exchange(s) were not calls of the "
                f"{self.config.api} API (other paths, preflights, redirect hops) and were skipped"
            )
        return Report(
            api=self.config.api,
            base_url=self.source,
            strict=self.config.strict,
            cases=tuple(_cases(ctx, self.selected, operations, raw, exercised)),
            ids=ctx.ids.as_dict(),
            requests=len(recorded),
            operations_called=dict(sorted(called.items())),
            not_tested=not_tested,
            notes=tuple(notes),
            duration=time.monotonic() - self._started,
            checks=tuple(chk.name for chk in self.selected),
        )


def _in_space(config: RunConfig, recorded: Sequence[Exchange]) -> RunConfig:
    """A session recorded entirely inside one Kibana space is compared in that space."""
    spaces = Counter(exchange.space for exchange in recorded)
    if config.api != "kibana" or not spaces or None in spaces:
        return config
    return replace(config, space=spaces.most_common(1)[0][0])


def _offline_notes(ctx: OfflineContext) -> None:
    """Discovery's note on a workflow list the recording simply lacks, said as such."""
    listing = ctx.profile.operation("workflows")
    if listing is None or ("discovery", listing.operation_id) not in ctx.misses:
        return
    ctx.ids.notes[:] = [
        "offline: the recording holds no workflow list; ids come from what the session addressed"
        if note.startswith("the workflow list gave no usable answer")
        else note
        for note in ctx.ids.notes
    ]


def _ids_from_recording(ctx: OfflineContext, recorded: Sequence[Exchange]) -> None:
    """Ids the recorded exchanges addressed, when discovery found none through the lists."""
    from conformance._discovery import _LISTS, _ids

    ids, profile = ctx.ids, ctx.profile
    need_workflows, need_runs, need_steps = not ids.workflows, not ids.runs, not ids.steps
    roles = {operation_id: role for role, operation_id in profile.roles.items()}
    for exchange in recorded:
        if not exchange.ok:
            continue
        role = roles.get(exchange.operation.operation_id, "")
        kinds = {profile.id_params.get(name): value for name, value in exchange.params.items()}
        workflow, run, step = kinds.get("workflow"), kinds.get("run"), kinds.get("step")
        if need_workflows and workflow and workflow not in ids.workflows:
            ids.workflows.append(workflow)
        if need_runs and run and not any(known == run for _, known in ids.runs):
            ids.runs.append((workflow, run))
        if need_steps and run and role in ("run", "steps") and role in _LISTS[profile.api]:
            for ident, _, _ in _ids(profile.api, role, exchange.json):
                if (run, ident) not in ids.steps:
                    ids.steps.append((run, ident))
        if need_steps and step and run and (run, step) not in ids.steps:
            ids.steps.append((run, step))


def judge_entries(
    api: str,
    entries: Iterable[HarEntry],
    *,
    strict: bool = False,
    checks: Sequence[str] | None = None,
    source: str = "recorded traffic",
) -> Report:
    """Judge recorded ``entries`` of ``api`` and return the report (``check --har``)."""
    judge = PassiveJudge(api, strict=strict, checks=checks, source=source)
    for entry in entries:
        judge.add(entry)
    if not judge.exchanges:
        from conformance.errors import TargetUnreachable

        raise TargetUnreachable(
            f"{source} holds no call of the {api} API ({judge.ignored} other exchange(s)); "
            "record traffic of this API, or pick its --api"
        )
    report = judge.report()
    if all(case.outcome == "skipped" for case in report.cases):
        from conformance.errors import TargetUnreachable

        reasons = sorted({case.reason for case in report.cases if case.reason})
        raise TargetUnreachable(
            f"nothing in {source} could be tested offline ({'; '.join(reasons[:3])})"
        )
    return report
