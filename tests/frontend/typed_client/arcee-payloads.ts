// Step fixtures as a frontend's tests and stories write them, with real inputs and outputs
// (from the documented Workflow Execution Steps example). Typed by the generated Step and Run.
import type { components } from "./generated/arcee";

type Step = components["schemas"]["Step"];
type Run = components["schemas"]["Run"];

export const step: Step = {
  id: "2b22413f-5071-4572-935a-42ab4e032c5e",
  user_id: "232735545458111483",
  organization_id: "236118032827722231",
  node_id: "model",
  status: "completed",
  start_time: "2025-11-21T09:29:56.964941Z",
  end_time: "2025-11-21T09:29:59.386955Z",
  elapsed_time: 2,
  error: null,
  outputs: { choices: [{ index: 0, message: { role: "assistant", content: "Sunny, 21 °C" } }] },
  inputs: { model: "virtuoso-medium", messages: [{ role: "user", content: "Weather?" }] },
  step_metadata: null,
  tokens: 63,
};

export const run: Run = {
  id: "ad90b511-9656-46fe-8a56-42d719305e36",
  status: "completed",
  start_time: "2025-11-21T09:29:56.964941Z",
  end_time: "2025-11-21T09:30:01.000000Z",
  elapsed_time: 4,
  error: null,
  outputs: { model: "Sunny, 21 °C" },
  all_outputs: { prompt: "Weather?", model: "Sunny, 21 °C" },
  inputs: { prompt: "Weather?" },
};
