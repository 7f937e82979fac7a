// What a frontend writes against Trigify, typed by openapi-typescript from
// `stepspec spec export --api trigify`. It must type-check with `tsc --noEmit --strict`.
import type { components, paths } from "./generated/trigify";

type Step = components["schemas"]["Step"];
type StepStatus = components["schemas"]["StepStatus"];
type TrigifyError = components["schemas"]["Error"];
type ExecutionResponse =
  paths["/v1/workflows/{id}/executions/{runId}"]["get"]["responses"][200]["content"]["application/json"];

export async function fetchSteps(base: string, key: string, workflowId: string, runId: string): Promise<Step[]> {
  const url = `${base}/v1/workflows/${encodeURIComponent(workflowId)}/executions/${encodeURIComponent(runId)}`;
  const response = await fetch(url, { headers: { "x-api-key": key } });
  if (!response.ok) {
    const failure = (await response.json()) as TrigifyError;
    throw new Error(`${failure.error.code}: ${failure.error.message}`);
  }
  const body: ExecutionResponse = (await response.json()) as ExecutionResponse;
  return body.data.steps;
}

export function describeStatus(status: StepStatus): string {
  switch (status) {
    case "pending":
      return "not started";
    case "running":
      return "in progress";
    case "completed":
      return "done";
    case "failed":
      return "failed";
    case "skipped":
      return "did not run";
    default: {
      const unreachable: never = status;
      return unreachable;
    }
  }
}

export function summary(step: Step): string {
  const id: string = step.step_id;
  const name: string = step.step_name ?? step.step_id;
  const operation: string = step.operation;
  const started: string = step.started_at;
  const finished: string = step.ended_at ?? "(still running)";
  const took: number | null = step.duration_ms;
  const error = step.error;
  const message: string = typeof error === "string" ? error : error === null || error === undefined ? "" : JSON.stringify(error);
  return [id, name, operation, describeStatus(step.status), started, finished, String(took), message].join(" ");
}

export function nullability(step: Step): void {
  // @ts-expect-error ended_at is null while a step runs
  const finished: string = step.ended_at;
  // @ts-expect-error duration_ms is null while a step runs
  const took: number = step.duration_ms;
  // @ts-expect-error step_name may be null
  const name: string = step.step_name;
  void [finished, took, name];
}
