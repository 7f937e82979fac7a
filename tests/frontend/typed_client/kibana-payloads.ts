// Step fixtures as a frontend's tests and stories write them, with real input and output
// payloads (from the documented examples). Typed by the generated StepExecution.
import type { components } from "./generated/kibana";

type StepExecution = components["schemas"]["StepExecution"];

export const finished: StepExecution = {
  id: "step-exec-002",
  spaceId: "default",
  stepId: "approve_change",
  stepType: "waitForInput",
  workflowRunId: "exec-a1b2c3d4-e5f6-7890",
  workflowId: "workflow-a1b2c3d4-e5f6-7890-abcd-ef1234567890",
  status: "completed",
  startedAt: "2025-11-20T12:00:02.000Z",
  finishedAt: "2025-11-20T12:05:30.000Z",
  executionTimeMs: 328000,
  scopeStack: [],
  topologicalIndex: 1,
  globalExecutionIndex: 1,
  stepExecutionIndex: 0,
  input: { message: "Approve change to production?" },
  output: { approved: true, comment: "ship it" },
  error: null,
  hitl: { respondedBy: "alice", respondedAt: "2025-11-20T12:05:29.000Z", channel: "slack" },
};

export const running: StepExecution = {
  ...finished,
  status: "running",
  finishedAt: null,
  executionTimeMs: null,
  input: { url: "https://example.org/hook", method: "POST", body: { requestedBy: "alice" } },
  output: null,
};

export function inputKeys(step: StepExecution): string[] {
  const input = step.input;
  return typeof input === "object" && input !== null && !Array.isArray(input) ? Object.keys(input) : [];
}
