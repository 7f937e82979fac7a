"""What the Kibana endpoints answer, independent of Flask: executions, lists, starting and
steering runs.

``KibanaService`` owns the seeded ``KibanaWorld``, the ``RunSource`` that resolves an execution
id (seeded, live or documented run) and the ``Lists`` searches. Lookups return None for what
does not exist (the routes answer Kibana's plain 404); a request the service turns down raises
``Refused`` with the status and Boom message to answer. What the request carries (checked query,
body, credentials, ``X-Stepspec-Scenario``) is read by the routes and handed in.

Starting a run stores it in the shared ``LiveStore``: its scenario comes from the header or
``inputs.stepspec_scenario`` (consumed, not kept as an input; submitted YAML wins over a
scenario), a test run of submitted YAML gets a workflow id derived from the YAML. Resume and
cancel record the client's action beside the run (see ``mock_server.live``).
"""

from __future__ import annotations

import hashlib
import random
from typing import TYPE_CHECKING, Any

from mock_server._timeline import TERMINAL, HitlResponse, waiting_position
from mock_server.kibana._lists import Lists, WorkflowRef
from mock_server.kibana._runs import API, RunSource, RunView
from mock_server.kibana._templates import InvalidWorkflow, parse_workflow_yaml
from mock_server.kibana._world import KibanaWorld
from mock_server.live import SCENARIO_FIELD, Scenario, requested_scenario, start_live_run

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mock_server._context import MockContext

Json = Any
RESUME_MESSAGE = "Workflow resume scheduled"
ALREADY_RESPONDED = "already responded to or no longer waiting for input"
STEPS_PAGE_SIZE = 5000
"""Default ``size`` of ``.../executions/{id}/steps`` (``WORKFLOW_EXECUTION_STEPS_UI_PAGE_SIZE``)."""
TEST_TARGET_MISSING = "Either 'workflowId' or 'workflowYaml' or both must be provided"


class Refused(Exception):
    """A request Kibana turns down: its status and Boom message (None: the status's reason)."""

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _conflict(execution_id: str, status: str) -> Refused:
    """The documented 409 of a resume that cannot happen."""
    return Refused(
        409,
        f'Workflow execution "{execution_id}" is in status "{status}" but expected '
        '"waiting_for_input".',
    )


def strip_io(step: dict[str, Json]) -> dict[str, Json]:
    """A step as lists show it: without ``input`` and ``output``."""
    return {key: value for key, value in step.items() if key not in ("input", "output")}


class KibanaService:
    """The Kibana world of one app, plus its live runs."""

    def __init__(self, ctx: MockContext) -> None:
        cfg = ctx.config
        self.ctx = ctx
        self.world = KibanaWorld(
            cfg.seed, cfg.workflows_per_api, cfg.runs_per_workflow, ctx.world_now_us, ctx.vocab
        )
        self.source = RunSource(ctx, self.world)
        self.lists = Lists(self.world, self.source)

    # Lookups -------------------------------------------------------------------------------

    def find(self, execution_id: str, space_id: str) -> RunView | None:
        """The execution ``execution_id`` of ``space_id`` as seen now, or None."""
        return self.source.find(execution_id, space_id)

    def workflow(self, workflow_id: str, space_id: str) -> WorkflowRef | None:
        """The workflow ``workflow_id`` of ``space_id``, or None."""
        return self.lists.workflow(workflow_id, space_id)

    # Execution payloads --------------------------------------------------------------------

    @staticmethod
    def steps_page(view: RunView, page: int, size: int) -> dict[str, Json]:
        """One page of an execution's steps, without their input and output."""
        steps = view.steps()
        results = [strip_io(step) for step in steps[(page - 1) * size : page * size]]
        return {"results": results, "total": len(steps), "page": page, "size": size}

    @staticmethod
    def execution(
        view: RunView, *, include_input: bool, include_output: bool, omit_steps: bool
    ) -> dict[str, Json]:
        """An execution's detail, as ``GET .../executions/{id}`` shows it."""
        body = view.detail(include_input=include_input, include_output=include_output)
        if omit_steps:
            # Kibana does not load the steps at all: the embed is empty, and nothing was truncated.
            body["stepExecutions"] = []
            body.pop("stepExecutionsTruncatedCount", None)
        return body

    # Searches (raise BadQuery) -------------------------------------------------------------
    # The workflow-scoped lists are searches: an unknown workflow id (or one of another space)
    # finds nothing, a 200 with an empty list (get_workflow_executions.ts,
    # get_workflow_step_executions.ts: api.getWorkflow returns null and nothing checks it).

    def workflow_executions(
        self, workflow_id: str, space_id: str, query: Mapping[str, Json]
    ) -> dict[str, Json]:
        """A page of a workflow's executions (none for an unknown workflow)."""
        ref = self.lists.workflow(workflow_id, space_id)
        if ref is None:
            return self.lists.no_executions(query)
        return self.lists.executions(ref, query)

    def workflow_step_executions(
        self, workflow_id: str, space_id: str, query: Mapping[str, Json]
    ) -> dict[str, Json]:
        """A page of a workflow's step executions (none for an unknown workflow)."""
        ref = self.lists.workflow(workflow_id, space_id)
        if ref is None:
            return self.lists.no_step_executions(query)
        return self.lists.step_executions(ref, query)

    def workflows(self, space_id: str, query: Mapping[str, Json]) -> dict[str, Json]:
        """A page of the workflows of ``space_id``."""
        return self.lists.workflows(space_id, query)

    # Starting runs -------------------------------------------------------------------------

    def test_target(
        self, space_id: str, workflow_id: str | None, yaml_text: str | None
    ) -> WorkflowRef | None:
        """The stored workflow a test run names (None: only YAML). Raises ``Refused`` when
        neither is given (400), the workflow is unknown (404) or the YAML is invalid (400)."""
        if workflow_id is None and yaml_text is None:
            raise Refused(400, TEST_TARGET_MISSING)
        ref = None
        if workflow_id is not None:
            ref = self.lists.workflow(workflow_id, space_id)
            if ref is None:
                raise Refused(404)
        if yaml_text is not None:
            try:
                parse_workflow_yaml(yaml_text)
            except InvalidWorkflow as problem:
                raise Refused(400, str(problem)) from problem
        return ref

    def start(
        self,
        ref: WorkflowRef | None,
        space_id: str,
        inputs: dict[str, Json],
        *,
        test: bool,
        principal: str,
        scenario_header: str | None,
        yaml_text: str | None = None,
    ) -> str:
        """Store a live run and return its id. Raises ``UnknownScenario``."""
        chosen = requested_scenario(scenario_header, inputs)
        spec: dict[str, Json] = {
            "space_id": space_id,
            "inputs": {k: v for k, v in inputs.items() if k != SCENARIO_FIELD},
            "is_test": test,
            "executed_by": principal,
        }
        if chosen is not None and yaml_text is None:  # submitted YAML wins over a scenario
            spec["scenario"] = chosen.name
        if ref is not None:
            spec["workflow_index"] = ref.index
            workflow_id = ref.workflow_id
        else:
            digest = hashlib.blake2b(str(yaml_text).encode(), digest_size=16).hexdigest()
            groups = (digest[:8], digest[8:12], digest[12:16], digest[16:20], digest[20:32])
            workflow_id = "workflow-" + "-".join(groups)
            spec["ephemeral"] = True
        if yaml_text is not None:
            spec["yaml"] = yaml_text
        spec["workflow_id"] = workflow_id
        started = self.ctx.clock()
        stored = start_live_run(
            self.ctx,
            API,
            workflow_id,
            started - started % 1000,
            spec,
            self.world.ids.live_execution_id,
        )
        return stored.run_id

    def auto_start(self, rng: random.Random, started_us: int, chosen: Scenario) -> None:
        """Start one automatic run of a seeded workflow (``AutoRuns``' callback)."""
        world = self.world
        index = rng.randrange(world.workflow_count)
        workflow = world.workflow(index)
        spec = {
            "space_id": workflow.space_id,
            "inputs": {},
            "is_test": False,
            "executed_by": "elastic",
            "workflow_index": index,
            "workflow_id": workflow.id,
            "scenario": chosen.name,
            "auto": True,
        }
        start_live_run(
            self.ctx,
            API,
            workflow.id,
            started_us - started_us % 1000,
            spec,
            world.ids.live_execution_id,
        )

    # Steering runs -------------------------------------------------------------------------

    def resume(
        self,
        view: RunView,
        execution_id: str,
        given: Json,
        wanted_step: str | None,
        principal: str,
    ) -> dict[str, Json]:
        """Answer the step ``view`` waits at with ``given``. Raises ``Refused`` (409) when the
        run waits for nothing or ``wanted_step`` is not the waiting step."""
        timeline = view.timeline
        position = waiting_position(timeline) if timeline is not None else None
        if timeline is None or position is None:
            raise _conflict(execution_id, str(view.status))
        waiting = timeline.steps[position]
        if wanted_step is not None and wanted_step != view.step_ids[position]:
            raise _conflict(execution_id, ALREADY_RESPONDED)
        # Kibana claims the step once (the hitl envelope) and writes the input to the run's
        # context; until the resume task runs, the run still waits for input, so a later resume
        # is accepted too and its input wins (workflows_management_api.ts resumeWorkflowExecution,
        # workflows_execution_engine plugin.ts internalResumeWorkflowExecution).
        self.source.thaw(view)
        response = HitlResponse(
            principal, self.source.world_time_of(view), "kibana_execution_view", given
        )
        store = self.ctx.store
        if waiting.hitl is not None or not store.record_response(execution_id, position, response):
            store.replace_input(execution_id, position, given)
        return {"success": True, "executionId": execution_id, "message": RESUME_MESSAGE}

    def cancel(self, view: RunView, execution_id: str) -> None:
        """Cancel a run that has not ended (a no-op for one that has)."""
        if view.status not in TERMINAL:
            self.source.thaw(view)
            self.ctx.store.record_cancel(execution_id, self.source.world_time_of(view))
