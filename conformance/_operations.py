"""What the kit knows about each API beyond its OpenAPI document: roles, ids, credentials.

The OpenAPI documents say what each operation accepts and returns; they do not say that
``getWorkflowExecutions`` is *the* list of runs, that ``executionId`` names a run, or how a key
is sent. ``ApiProfile`` holds those facts, one per API, so discovery and the checks stay generic.

This module also answers the checks' questions about an operation's responses (documented
status codes, media types, the schema of each body) from ``_specs.Operation``, which resolves
the documents' local ``#/components/...`` references on load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from conformance import _specs
from conformance._specs import Operation

IdKind = Literal["workflow", "run", "step", "space"]
Role = Literal["workflows", "runs", "run", "steps", "step", "workflow_steps", "workflow"]

SPACE_SUFFIX = "InSpace"
"""Kibana's space-prefixed operations are named ``<operationId>InSpace``."""


@dataclass(frozen=True)
class ApiProfile:
    """Per-API facts the checks rely on (see the module docstring)."""

    api: str
    auth_header: str
    """Header that carries the credential."""
    auth_scheme: str
    """Scheme word before the key (``ApiKey``, ``Bearer``) or ``""`` for a bare key."""
    id_params: Mapping[str, IdKind]
    """Path parameter name -> the kind of id it takes."""
    roles: Mapping[Role, str]
    """Role -> operationId."""
    error_schema: str
    """Schema of a 4xx body when the operation documents none for that status."""
    not_found_inferred: bool
    """True when a 404 for an unknown id is only inferred (a warning unless --strict)."""
    has_spaces: bool = False
    example_ids: Mapping[IdKind, str] = field(default_factory=dict)
    """Ids from the vendor's documented examples (what a docs-faithful server serves)."""
    other_credential_headers: tuple[str, ...] = ()
    """Further headers the vendor accepts a credential in (the auth probes remove them all)."""

    @property
    def credential_header_names(self) -> tuple[str, ...]:
        """Every header that can carry a credential for this vendor, lower-cased."""
        return tuple(name.lower() for name in (self.auth_header, *self.other_credential_headers))

    def credential(self, key: str) -> dict[str, str]:
        """The header that sends ``key`` in this vendor's scheme."""
        value = f"{self.auth_scheme} {key}" if self.auth_scheme else key
        return {self.auth_header: value}

    def operation(self, role: Role) -> Operation | None:
        """The operation that plays ``role``, if the API has one."""
        operation_id = self.roles.get(role)
        return None if operation_id is None else _specs.operation(self.api, operation_id)


PROFILES: dict[str, ApiProfile] = {
    "kibana": ApiProfile(
        api="kibana",
        auth_header="Authorization",
        auth_scheme="ApiKey",
        id_params={
            "workflowId": "workflow",
            "id": "workflow",
            "executionId": "run",
            "stepExecutionId": "step",
            "space_id": "space",
        },
        roles={
            "workflows": "listWorkflows",
            "runs": "getWorkflowExecutions",
            "run": "getExecution",
            "steps": "getExecutionSteps",
            "step": "getStepExecution",
            "workflow_steps": "getWorkflowStepExecutions",
        },
        error_schema=_specs.schema_id("kibana", "error"),
        not_found_inferred=False,
        has_spaces=True,
        example_ids={"run": "exec-a1b2c3d4-e5f6-7890", "step": "step-exec-001"},
        # `Authorization` carries ApiKey, Basic and Bearer alike; a browser session is a cookie.
        other_credential_headers=("Cookie",),
    ),
    "arcee": ApiProfile(
        api="arcee",
        auth_header="Authorization",
        auth_scheme="Bearer",
        id_params={"workflow_id": "workflow", "run_id": "run"},
        roles={
            "workflows": "listWorkflows",
            "runs": "executionHistory",
            "run": "getRun",
            "steps": "getRunSteps",
        },
        error_schema=_specs.schema_id("arcee", "error"),
        not_found_inferred=False,
        example_ids={"run": "5b69669f-975a-49af-a33a-61ff9ae5a20f"},
    ),
    "trigify": ApiProfile(
        api="trigify",
        auth_header="x-api-key",
        auth_scheme="",
        id_params={"id": "workflow", "runId": "run"},
        roles={
            "workflows": "listWorkflows",
            "workflow": "getWorkflow",
            "runs": "listWorkflowExecutions",
            "run": "getWorkflowExecution",
        },
        error_schema=_specs.schema_id("trigify", "error-any"),
        not_found_inferred=True,
        example_ids={"workflow": "wf_abc123", "run": "run_x7k9m2"},
        # "Trigify accepts the key two ways ... x-api-key header ... Authorization header, Bearer
        # + your key" (https://help.trigify.io/en/articles/7743219).
        other_credential_headers=("Authorization",),
    ),
}


def profile(api: str) -> ApiProfile:
    """The profile of ``api``; an unknown API lists the known ones."""
    try:
        return PROFILES[api]
    except KeyError:
        from conformance.errors import UsageError

        raise UsageError(f"unknown API {api!r}; known APIs: {', '.join(PROFILES)}") from None


def logical_operations(api: str) -> tuple[Operation, ...]:
    """The operations as reports name them: Kibana's ``...InSpace`` twins folded into their base."""
    return tuple(op for op in _specs.operations(api) if not op.operation_id.endswith(SPACE_SUFFIX))


def space_variant(operation: Operation) -> Operation | None:
    """Kibana's ``/s/{space_id}`` twin of ``operation``, if it has one."""
    for candidate in _specs.operations(operation.api):
        if candidate.operation_id == operation.operation_id + SPACE_SUFFIX:
            return candidate
    return None


def path_params(operation: Operation) -> list[str]:
    """Names of ``operation``'s path parameters, in path order (``space_id`` excluded)."""
    names: list[str] = []
    for segment in operation.path.split("/"):
        if segment.startswith("{") and segment.endswith("}") and segment[1:-1] != "space_id":
            names.append(segment[1:-1])
    return names


def parameters(operation: Operation) -> list[Mapping[str, Any]]:
    """``operation``'s parameters, references resolved (``_specs`` resolves them on load)."""
    return [p for p in operation.parameters if p]


def documented_statuses(operation: Operation) -> list[str]:
    """The response keys the operation documents (``"200"``, ``"4XX"``, ``"default"``)."""
    return list(operation.response_objects)


def is_documented(operation: Operation, status: int) -> bool:
    """Whether ``status`` (or its range, or ``default``) is documented for ``operation``."""
    return operation.response_key(status) is not None


def media_types(operation: Operation, status: int) -> list[str]:
    """Media types documented for the response ``status`` (empty: no body documented)."""
    key = operation.response_key(status)
    response = operation.response_objects.get(key) if key is not None else None
    return list((response or {}).get("content") or {})


def response_schema(operation: Operation, status: int) -> str | None:
    """Schema id of the JSON body documented for ``status``, if any."""
    key = operation.response_key(status)
    return operation.responses.get(key) if key is not None else None
