// What a frontend writes against Arcee Orchestra, typed by openapi-typescript from
// `stepspec spec export --api arcee`. It must type-check with `tsc --noEmit --strict`.
import type { components, paths } from "./generated/arcee";

type Step = components["schemas"]["Step"];
type Run = components["schemas"]["Run"];
type StepsResponse =
  paths["/api/v1/workflow/workflows/{workflow_id}/runs/{run_id}/steps"]["get"]["responses"][200]["content"]["application/json"];

export async function fetchSteps(base: string, key: string, workflowId: string, runId: string): Promise<Step[]> {
  const url = `${base}/api/v1/workflow/workflows/${encodeURIComponent(workflowId)}/runs/${encodeURIComponent(runId)}/steps`;
  const response = await fetch(url, { headers: { Authorization: `Bearer ${key}` } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const steps: StepsResponse = (await response.json()) as StepsResponse;
  return steps;
}

export function summary(step: Step): string {
  const id: string = step.id;
  const node: string = step.node_id;
  const status: string = step.status;
  const started: string = step.start_time;
  const finished: string = step.end_time ?? "(still running)";
  const seconds: number = step.elapsed_time;
  const error: string = step.error ?? "";
  const tokens: number = step.tokens;
  return [id, node, status, started, finished, String(seconds), error, String(tokens)].join(" ");
}

export function runSummary(run: Run): string {
  const finished: string = run.end_time ?? "(still running)";
  return `${run.id} ${run.status} ${run.start_time} ${finished} ${run.error ?? ""}`;
}

export function nullability(step: Step): void {
  // @ts-expect-error end_time is null while a step runs
  const finished: string = step.end_time;
  // @ts-expect-error error is null when the step did not fail
  const error: string = step.error;
  void [finished, error];
}
