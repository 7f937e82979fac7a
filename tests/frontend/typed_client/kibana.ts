// What a frontend writes against Kibana Workflows, typed by openapi-typescript from
// `stepspec spec export --api kibana`. It must type-check with `tsc --noEmit --strict`.
import type { components, paths } from "./generated/kibana";

type StepExecution = components["schemas"]["StepExecution"];
type ExecutionStatus = components["schemas"]["ExecutionStatus"];
type KibanaError = components["schemas"]["Error"];
type StepResponse =
  paths["/api/workflows/executions/{executionId}/step/{stepExecutionId}"]["get"]["responses"][200]["content"]["application/json"];
type StepsResponse =
  paths["/api/workflows/executions/{executionId}/steps"]["get"]["responses"][200]["content"]["application/json"];

export async function fetchStep(
  base: string,
  key: string,
  executionId: string,
  stepExecutionId: string,
): Promise<StepExecution> {
  const url = `${base}/api/workflows/executions/${encodeURIComponent(executionId)}/step/${encodeURIComponent(stepExecutionId)}`;
  const response = await fetch(url, { headers: { Authorization: `ApiKey ${key}` } });
  if (!response.ok) {
    const error = (await response.json()) as KibanaError;
    throw new Error(`${error.statusCode} ${error.error}: ${error.message}`);
  }
  const step: StepResponse = (await response.json()) as StepResponse;
  return step;
}

export function stepIds(page: StepsResponse): string[] {
  const total: number = page.total;
  return page.results.slice(0, total).map((step) => step.id);
}

// Exhaustive: a status added to the spec breaks this switch, as it should.
export function describeStatus(status: ExecutionStatus): string {
  switch (status) {
    case "pending":
    case "queued":
      return "not started";
    case "running":
    case "waiting":
    case "waiting_for_child":
      return "in progress";
    case "waiting_for_input":
      return "waiting for a human";
    case "completed":
      return "done";
    case "failed":
    case "timed_out":
      return "failed";
    case "cancelled":
    case "skipped":
      return "did not run";
    default: {
      const unreachable: never = status;
      return unreachable;
    }
  }
}

export function errorMessage(step: StepExecution): string | null {
  const error = step.error;
  if (error === undefined || error === null) return null;
  return typeof error === "string" ? error : error.message;
}

export function summary(step: StepExecution): string {
  const id: string = step.id;
  const name: string = step.stepId;
  const run: string = step.workflowRunId;
  const started: string = step.startedAt ?? "(never started)"; // a step cancelled before it started has none
  const finished: string = step.finishedAt ?? "(still running)";
  const took: number | null | undefined = step.executionTimeMs;
  const order: number = step.globalExecutionIndex;
  const answeredBy: string | undefined = step.hitl?.respondedBy;
  const scopes: string[] = step.scopeStack.map((frame) => frame.stepId);
  return [id, name, run, started, finished, String(took), String(order), String(answeredBy), ...scopes].join(" ");
}

// Nullability the API really has: a running step has no finishedAt and no duration yet.
export function nullability(step: StepExecution): void {
  // @ts-expect-error finishedAt is null (or absent) while a step runs
  const finished: string = step.finishedAt;
  // @ts-expect-error executionTimeMs is null while a step runs
  const took: number = step.executionTimeMs;
  // @ts-expect-error error is null when the step did not fail
  const error: string | object = step.error;
  void [finished, took, error];
}
