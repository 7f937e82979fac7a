// Step fixtures as a frontend's tests and stories write them, with real inputs and outputs
// (from the documented execution example). Typed by the generated Step.
import type { components } from "./generated/trigify";

type Step = components["schemas"]["Step"];

export const summarised: Step = {
  step_id: "agent-1",
  step_name: "Summarise Post",
  operation: "generic_agent",
  status: "completed",
  started_at: "2025-11-21T01:38:22.796Z",
  ended_at: "2025-11-21T01:38:24.657Z",
  duration_ms: 1861,
  input: { outputFormat: "text", model: "openai/gpt-5-mini", prompt: "Summarise this post" },
  output: { result: { output: "A short summary" } },
  mapped_output: null,
  error: null,
};

export const failed: Step = {
  ...summarised,
  status: "failed",
  output: null,
  mapped_output: { Summary: "partial" },
  error: { message: "The model returned an empty response", retryable: true },
};
