// stepspec run viewer: plain JavaScript, no build step, no dependencies.
//
// The page asks the mock's own vendor endpoints (same origin) for workflows, runs and steps,
// with the key typed in the header, and sends "X-Stepspec-Viewer" so that its requests do not
// count in the coverage report. Each vendor has an adapter that turns its payloads into one
// shape: runs {id, status, start, end} and steps {key, name, type, status, start, end, hitl}.
// The location hash holds the view (#/api/workflow/run?status=failed&step=3), so a view can be
// linked and reloaded. A run that is not finished is fetched again every poll interval.
"use strict";

(() => {
  const TERMINAL = new Set(["completed", "failed", "cancelled", "timed_out", "skipped"]);
  const HITL_TYPES = new Set(["waitforinput", "wait_for_input", "waitforapproval"]);
  const STATUS_ORDER = [
    "pending", "queued", "running", "waiting", "waiting_for_input", "waiting_for_child",
    "completed", "failed", "cancelled", "timed_out", "skipped",
  ];
  const KEY_STORAGE = "stepspec.viewer.key";
  const DEFAULT_KEY = "stepspec-viewer";
  const LIST_EVERY = 5; // refresh the run list every fifth poll

  const enc = encodeURIComponent;

  const errorText = (error) => {
    if (error === null || error === undefined || error === "") return null;
    if (typeof error === "string") return error;
    if (typeof error === "object" && typeof error.message === "string") return error.message;
    return JSON.stringify(error);
  };

  // ISO 8601 with any number of fraction digits, or Python's "2025-03-12 00:59:55.46+00:00".
  const parseTime = (text) => {
    if (typeof text !== "string" || !text) return null;
    const value = Date.parse(text.replace(" ", "T").replace(/(\.\d{3})\d+/, "$1"));
    return Number.isNaN(value) ? null : value;
  };

  // The scope of a step inside a loop (Kibana foreach iterations), shown as "[2]".
  const iterationOf = (step) => {
    const frames = Array.isArray(step.scopeStack) ? step.scopeStack : [];
    const last = frames[frames.length - 1];
    const scopes = last && Array.isArray(last.nestedScopes) ? last.nestedScopes : [];
    const scope = scopes[scopes.length - 1];
    return scope && scope.scopeId !== undefined && scope.scopeId !== null ? String(scope.scopeId) : null;
  };

  const ADAPTERS = {
    kibana: {
      label: "Kibana",
      auth: (key) => ({ Authorization: `ApiKey ${key}` }),
      writeHeaders: { "kbn-xsrf": "true" },
      // What a person can do to a run that is not finished: answer a human-in-the-loop wait
      // (resume with the documented {input, stepExecutionId}) or cancel it.
      actions: (loaded) => {
        const { run, steps } = loaded;
        if (TERMINAL.has(run.status)) return [];
        const base = `/api/workflows/executions/${enc(run.id)}`;
        const waiting = steps.find((s) => s.hitl && s.hitl.waiting);
        // Answered but not yet resumed (Kibana fills `hitl` before its task resumes the run):
        // nothing left to answer.
        const answered = Boolean(waiting && waiting.hitl.respondedAt !== null);
        const answer = (approved) => ({
          input: { approved }, ...(waiting && waiting.raw.id ? { stepExecutionId: waiting.raw.id } : {}),
        });
        const found = [];
        if ((run.status === "waiting_for_input" || waiting) && !answered) {
          found.push({ name: "approve", label: "Approve", path: `${base}/resume`, body: answer(true) });
          found.push({ name: "reject", label: "Reject", path: `${base}/resume`, body: answer(false) });
        }
        found.push({ name: "cancel", label: "Cancel run", path: `${base}/cancel`, body: null });
        return found;
      },
      workflowsPath: () => "/api/workflows?size=100",
      workflows: (body) => body.results.map((w) => ({ id: w.id, name: w.name, description: w.description })),
      runsPath: (wf) => `/api/workflows/workflow/${enc(wf)}/executions?size=100`,
      runs: (body) => body.results.map((r) => ({
        id: r.id, status: r.status, start: parseTime(r.startedAt), end: parseTime(r.finishedAt),
        durationMs: typeof r.duration === "number" ? r.duration : null, error: errorText(r.error),
      })),
      async loadRun(call, wf, runId) {
        const path = `/api/workflows/executions/${enc(runId)}`;
        const body = await call(path);
        const steps = (body.stepExecutions || []).map((s, index) => {
          const waiting = s.status === "waiting_for_input";
          const isHitl = waiting || Boolean(s.hitl) || HITL_TYPES.has(String(s.stepType || "").toLowerCase());
          return {
            key: s.id || String(index), name: s.stepId, type: s.stepType || "", status: s.status,
            start: parseTime(s.startedAt), end: parseTime(s.finishedAt), iteration: iterationOf(s),
            // Kibana never ends a cancelled step; a cancel between steps leaves the next one bare.
            note: s.status === "cancelled" && !s.startedAt ? "cancelled before it started" : null,
            hitl: isHitl ? {
              waiting,
              respondedBy: s.hitl ? s.hitl.respondedBy : null,
              respondedAt: s.hitl ? parseTime(s.hitl.respondedAt) : null,
              channel: s.hitl ? s.hitl.channel : null,
            } : null,
            raw: s,
          };
        });
        return {
          run: {
            id: body.id, status: body.status, title: body.workflowName || body.workflowId,
            start: parseTime(body.startedAt), end: parseTime(body.finishedAt),
            created: parseTime(body.createdAt),
            durationMs: typeof body.duration === "number" ? body.duration : null,
            error: errorText(body.error), facts: body.isTestRun ? "test run" : (body.triggeredBy || ""),
          },
          steps,
          endpoint: path,
        };
      },
      // The execution omits step input/output; the step endpoint has them (the central endpoint).
      async loadStep(call, wf, runId, step) {
        const path = `/api/workflows/executions/${enc(runId)}/step/${enc(step.raw.id)}`;
        const body = await call(path);
        return { data: body, input: body.input, output: body.output, error: body.error, endpoint: path };
      },
    },

    arcee: {
      label: "Arcee",
      auth: (key) => ({ Authorization: `Bearer ${key}` }),
      workflowsPath: () => "/api/v1/workflow/workflows",
      workflows: (body) => body.map((w) => ({
        id: w.workflow_id, name: w.name, description: w.description,
        nodeTypes: Object.fromEntries(Object.entries((w.graph && w.graph.nodes) || {}).map(([id, n]) => [id, n && n.type])),
      })),
      runsPath: (wf) => `/api/v1/workflow/workflows/${enc(wf)}/runs?limit=100`,
      runs: (body) => body.map((r) => ({
        id: r.id, status: r.status, start: parseTime(r.start_time), end: parseTime(r.end_time),
        durationMs: typeof r.elapsed_time === "number" ? r.elapsed_time * 1000 : null, error: errorText(r.error),
      })),
      async loadRun(call, wf, runId) {
        const runPath = `/api/v1/workflow/workflows/${enc(wf)}/runs/${enc(runId)}`;
        const path = `${runPath}/steps`;
        const [detail, body] = await Promise.all([call(runPath), call(path)]);
        const run = Array.isArray(detail) ? detail[0] : detail;
        const steps = body.map((s, index) => ({
          key: s.id || String(index), name: s.node_id, type: (workflowItem(wf).nodeTypes || {})[s.node_id] || "", status: s.status,
          start: parseTime(s.start_time), end: parseTime(s.end_time), iteration: null, hitl: null, raw: s,
        }));
        return {
          run: {
            id: run.id, status: run.status, title: wf, start: parseTime(run.start_time),
            end: parseTime(run.end_time),
            durationMs: typeof run.elapsed_time === "number" ? run.elapsed_time * 1000 : null,
            error: errorText(run.error), facts: "",
          },
          steps,
          endpoint: path,
        };
      },
      async loadStep(call, wf, runId, step, loaded) {
        const s = step.raw;
        return { data: s, input: s.inputs, output: s.outputs, error: s.error, endpoint: loaded.endpoint };
      },
    },

    trigify: {
      label: "Trigify",
      auth: (key) => ({ "x-api-key": key }),
      workflowsPath: () => "/v1/workflows?limit=100",
      workflows: (body) => body.data.items.map((w) => ({ id: w.id, name: w.name, description: w.description })),
      runsPath: (wf) => `/v1/workflows/${enc(wf)}/executions?page_size=100`,
      runs: (body) => body.data.executions.map((r) => ({
        id: r.run_id, status: r.status, start: parseTime(r.started_at), end: parseTime(r.completed_at),
        durationMs: typeof r.duration === "number" ? r.duration : null, error: errorText(r.error),
      })),
      async loadRun(call, wf, runId) {
        const path = `/v1/workflows/${enc(wf)}/executions/${enc(runId)}`;
        const body = (await call(path)).data;
        const steps = (body.steps || []).map((s, index) => ({
          key: `${index}:${s.step_id}`, name: s.step_name || s.step_id, type: s.operation || "",
          status: s.status, start: parseTime(s.started_at), end: parseTime(s.ended_at),
          // A loop body repeats its step_id once per item: show which one, "[2]".
          iteration: typeof s.iteration === "number" ? String(s.iteration) : null, hitl: null, raw: s,
        }));
        return {
          run: {
            id: body.run_id, status: body.status, title: body.workflow_id, start: parseTime(body.started_at),
            end: parseTime(body.ended_at), durationMs: typeof body.duration_ms === "number" ? body.duration_ms : null,
            error: errorText(body.error), facts: body.event_name || "",
          },
          steps,
          endpoint: path,
        };
      },
      async loadStep(call, wf, runId, step, loaded) {
        const s = step.raw;
        return { data: s, input: s.input, output: s.output, error: s.error, endpoint: loaded.endpoint };
      },
    },
  };

  const state = {
    meta: null,
    key: localStorage.getItem(KEY_STORAGE) || DEFAULT_KEY,
    route: { api: null, workflow: null, run: null, status: null, step: null },
    workflows: { api: null, items: [] },
    runs: { key: null, items: [] },
    loaded: null, // the run on screen: {run, steps, endpoint}
    timer: null,
    ticks: 0,
  };

  const $ = (id) => document.getElementById(id);

  const workflowItem = (id) => state.workflows.items.find((w) => w.id === id) || {};

  // A short, readable part of an id: without a vendor prefix ("workflow-", "wf_"), 6 characters.
  const shortId = (id) => String(id).replace(/^[a-z]+[-_](?=.)/i, "").slice(0, 6);

  // Workflows that share a name (Arcee "Weather joke to Slack" x4) get a short id after it, so
  // that the list and the run header tell them apart: `name` becomes the name shown (with the
  // id), `label` and `suffix` are its two parts for the list.
  const withLabels = (items) => {
    const counts = new Map();
    for (const w of items) counts.set(w.name || w.id, (counts.get(w.name || w.id) || 0) + 1);
    return items.map((w) => {
      const label = w.name || w.id;
      const suffix = counts.get(label) > 1 ? shortId(w.id) : null;
      return { ...w, name: suffix ? `${label} · ${suffix}` : label, label, suffix };
    });
  };

  // h("div", {class: "x", onclick: f}, child, ...): text children are text nodes, never HTML.
  const h = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (name === "dataset") {
        for (const [key, item] of Object.entries(value)) if (item !== null && item !== undefined) node.dataset[key] = item;
      }
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  const adapter = () => ADAPTERS[state.route.api];

  // ---- HTTP -------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(path, status, body) {
      super(`${status} from ${path}`);
      this.path = path;
      this.status = status;
      this.body = body;
    }
  }

  const headersFor = (api) => ({ ...ADAPTERS[api].auth(state.key), Accept: "application/json" });

  const caller = (api) => async (path) => {
    const viewer = (state.meta && state.meta.viewer_header) || "X-Stepspec-Viewer";
    const response = await fetch(path, { headers: { ...headersFor(api), [viewer]: "1" } });
    const text = await response.text();
    let body = text;
    try { body = text ? JSON.parse(text) : null; } catch (_) { /* not JSON: keep the text */ }
    if (!response.ok) throw new ApiError(path, response.status, body);
    return body;
  };

  // A write (resume, cancel) with the key in the header box and the vendor's write headers.
  const send = async (api, path, body) => {
    const viewer = (state.meta && state.meta.viewer_header) || "X-Stepspec-Viewer";
    const headers = { ...headersFor(api), ...(ADAPTERS[api].writeHeaders || {}), [viewer]: "1" };
    if (body !== null) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method: "POST", headers, body: body === null ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed = text;
    try { parsed = text ? JSON.parse(text) : null; } catch (_) { /* not JSON: keep the text */ }
    if (!response.ok) throw new ApiError(`POST ${path}`, response.status, parsed);
    return parsed;
  };

  const shellQuote = (text) => `'${String(text).replace(/'/g, "'\\''")}'`;

  const curlFor = (api, path) => {
    const headers = Object.entries(headersFor(api))
      .filter(([name]) => name !== "Accept")
      .map(([name, value]) => ` -H ${shellQuote(`${name}: ${value}`)}`)
      .join("");
    return `curl -sS${headers} ${shellQuote(location.origin + path)}`;
  };

  const copyText = async (text) => {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch (_) { /* not a secure context, or no permission: fall back */ }
    const area = h("textarea", { readonly: true, class: "clipboard" }, text);
    document.body.append(area);
    area.select();
    try { document.execCommand("copy"); } finally { area.remove(); }
  };

  // A "copy curl" button; the command shows below it, so it can also be selected by hand.
  const curlBox = (api, path, label) => {
    const command = curlFor(api, path);
    const box = h("span", { class: "curl", dataset: { path } });
    const button = h("button", {
      class: "copy-curl", type: "button", title: `Copy a curl command for ${label}`,
      onclick: async (event) => {
        event.stopPropagation();
        for (const other of document.querySelectorAll(".curl.open")) if (other !== box) other.classList.remove("open");
        box.classList.toggle("open");
        await copyText(command);
        button.classList.add("copied");
        button.textContent = "copied";
        setTimeout(() => { button.classList.remove("copied"); button.textContent = "copy curl"; }, 1500);
      },
    }, "copy curl");
    box.append(button, h("pre", { class: "curl-text" }, command));
    return box;
  };

  // ---- banner -----------------------------------------------------------------------------

  const showError = (error) => {
    const banner = $("banner");
    banner.replaceChildren();
    if (error instanceof ApiError) {
      let hint = "";
      if (error.status === 401) {
        hint = state.meta && state.meta.keys_required
          ? " This mock only accepts the keys it was started with (--api-key): enter one above."
          : " Enter a key above.";
      }
      banner.append(
        h("strong", {}, `${error.status} from ${error.path}.`), hint,
        h("pre", {}, typeof error.body === "string" ? error.body : JSON.stringify(error.body, null, 2)),
      );
    } else {
      banner.append(h("strong", {}, "Could not reach the mock: "), String(error && error.message));
    }
    banner.hidden = false;
  };

  const clearError = () => { $("banner").hidden = true; };

  // What a pane shows while its data is on the way (the first paint says so too: index.html).
  const loading = (id, text) => {
    $(id).replaceChildren(h(id === "run" ? "p" : "li", { class: "placeholder loading" }, text));
  };

  // ---- formatting ------------------------------------------------------------------------

  const formatDuration = (ms) => {
    if (ms === null || ms === undefined || Number.isNaN(ms)) return "";
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
    const [big, small, bigUnit, smallUnit] = ms < 3600000
      ? [Math.floor(ms / 60000), Math.round((ms % 60000) / 1000), "min", "s"]
      : [Math.floor(ms / 3600000), Math.round((ms % 3600000) / 60000), "h", "min"];
    return small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`;
  };

  // Every API's timestamps are UTC instants; the viewer shows them in UTC and says so.
  const formatTime = (ms) => (ms === null ? "—" : `${new Date(ms).toISOString().replace("T", " ").slice(0, 19)} UTC`);

  const badge = (status) => {
    const text = String(status).replace(/_/g, " ");
    return h("span", { class: `badge status-${status}`, title: text }, text);
  };

  const json = (value) => (value === undefined ? "(absent)" : JSON.stringify(value, null, 2));

  // A long unbroken token (a URL, a path, an id) may wrap after a separator (/ ? & = _ . : , -)
  // instead of mid-word: <wbr> marks those places and adds no character, so the text (and a copy
  // of it) stays the JSON. Shorter tokens wrap at spaces as usual.
  const breakable = (text) => {
    const out = [];
    let last = 0;
    for (const match of text.matchAll(/\S{24,}/g)) {
      out.push(text.slice(last, match.index));
      match[0].split(/(?<=[\/?&=_.:,-])/).forEach((piece, i) => {
        if (i) out.push(h("wbr", {}));
        out.push(piece);
      });
      last = match.index + match[0].length;
    }
    out.push(text.slice(last));
    return out;
  };

  // ---- routing ----------------------------------------------------------------------------

  const parseHash = () => {
    const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    const params = new URLSearchParams(query || "");
    const apis = (state.meta ? state.meta.apis : []).map((a) => a.name).filter((n) => n in ADAPTERS);
    return {
      api: apis.includes(parts[0]) ? parts[0] : apis[0] || null,
      workflow: parts[1] || null,
      run: parts[2] || null,
      status: params.get("status"),
      step: params.get("step"),
    };
  };

  const hashFor = (route) => {
    const parts = [route.api, route.workflow, route.run].filter(Boolean).map(enc);
    const params = new URLSearchParams();
    if (route.status) params.set("status", route.status);
    if (route.step) params.set("step", route.step);
    const query = params.toString();
    return `#/${parts.join("/")}${query ? `?${query}` : ""}`;
  };

  const go = (changes) => { location.hash = hashFor({ ...state.route, ...changes }); };

  // ---- panes ------------------------------------------------------------------------------

  const renderApis = () => {
    const nav = $("apis");
    nav.replaceChildren(...state.meta.apis.filter((a) => a.name in ADAPTERS).map((a) => h("a", {
      href: hashFor({ api: a.name }), class: a.name === state.route.api ? "active" : null,
      dataset: { api: a.name },
    }, ADAPTERS[a.name].label)));
  };

  const loadWorkflows = async () => {
    const { api } = state.route;
    if (state.workflows.api !== api) {
      loading("workflows", "Loading workflows…");
      const items = ADAPTERS[api].workflows(await caller(api)(ADAPTERS[api].workflowsPath()));
      state.workflows = { api, items: withLabels(items) };
    }
    $("workflows-curl").replaceChildren(curlBox(api, ADAPTERS[api].workflowsPath(), "the workflows"));
    $("workflows").replaceChildren(...state.workflows.items.map((w) => h("li", { dataset: { workflowId: w.id } },
      h("a", { href: hashFor({ api, workflow: w.id }), class: w.id === state.route.workflow ? "active" : null },
        h("span", { class: "wf-name" }, w.label, w.suffix ? h("span", { class: "wf-id", title: w.id }, `\u00a0· ${w.suffix}`) : null),
        h("small", {}, w.description || w.id)))));
    if (!state.workflows.items.length) $("workflows").append(h("li", { class: "placeholder" }, "This API has no workflow."));
  };

  const loadRuns = async (force) => {
    const { api, workflow } = state.route;
    if (!workflow) {
      $("runs").replaceChildren(h("li", { class: "placeholder" }, "Pick a workflow."));
      $("filters").replaceChildren();
      $("runs-curl").replaceChildren();
      return;
    }
    const key = `${api}/${workflow}`;
    if (state.runs.key !== key) loading("runs", "Loading runs…");
    if (force || state.runs.key !== key) {
      state.runs = { key, items: ADAPTERS[api].runs(await caller(api)(ADAPTERS[api].runsPath(workflow))) };
    }
    renderRuns();
  };

  const renderRuns = () => {
    const { api, workflow, status } = state.route;
    const items = state.runs.items;
    const counts = new Map();
    for (const run of items) counts.set(run.status, (counts.get(run.status) || 0) + 1);
    const statuses = [...counts.keys()].sort((a, b) => STATUS_ORDER.indexOf(a) - STATUS_ORDER.indexOf(b));
    const chip = (value, label, n) => h("button", {
      type: "button", class: "filter", "aria-pressed": String((status || null) === value),
      dataset: { status: value || "all" }, onclick: () => go({ status: value, step: null }),
    }, label, h("span", { class: "n" }, n));
    $("filters").replaceChildren(chip(null, "all", items.length),
      ...statuses.map((s) => chip(s, s.replace(/_/g, " "), counts.get(s))));
    $("runs-curl").replaceChildren(curlBox(api, ADAPTERS[api].runsPath(workflow), "the runs"));
    const shown = status ? items.filter((r) => r.status === status) : items;
    $("runs").replaceChildren(...shown.map((r) => h("li", { class: "run-item", dataset: { runId: r.id, status: r.status } },
      h("a", { href: hashFor({ api, workflow, run: r.id, status, step: null }), class: r.id === state.route.run ? "active" : null },
        badge(r.status), h("span", { class: "when" }, r.start === null ? "not started" : formatTime(r.start)),
        h("code", {}, r.id),
        h("span", { class: "dur" }, formatDuration(r.end !== null && r.start !== null ? r.end - r.start : r.durationMs))))));
    if (!shown.length) $("runs").append(h("li", { class: "placeholder" }, "No run has this status."));
    if (state.route.run && state.scrolledTo !== state.route.run) {
      const active = $("runs").querySelector("a.active");
      if (active) active.scrollIntoView({ block: "center" });
      state.scrolledTo = state.route.run;
    }
  };

  // ---- the run: header, timeline, step --------------------------------------------------

  const niceStep = (span) => {
    const raw = span / 6;
    const power = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
    for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
    return 10 * power;
  };

  const extent = (loaded) => {
    const { run, steps } = loaded;
    const times = [run.start, run.end, ...steps.flatMap((s) => [s.start, s.end])].filter((t) => t !== null);
    if (run.start !== null && run.durationMs !== null) times.push(run.start + run.durationMs);
    if (!times.length) return { start: 0, end: 1 };
    const start = Math.min(...times);
    let end = Math.max(...times, start + 1);
    // A run in progress is observed "now". The payloads do not say when now is on the server, so
    // use this browser's clock when it is plausibly the server's (a live run that started less
    // than a day ago); the frozen seeded world and test clocks fall back to the last event.
    const now = Date.now();
    if (!TERMINAL.has(run.status) && now > end && now - end < 86400000) end = now;
    return { start, end };
  };

  const renderTimeline = (loaded) => {
    const { steps } = loaded;
    const { start, end } = extent(loaded);
    const span = end - start;
    const pct = (t) => `${(((t - start) / span) * 100).toFixed(3)}%`;
    const step = niceStep(span);
    const ticks = [];
    for (let t = 0; t <= span + 1e-9; t += step) {
      ticks.push(h("span", { class: "tick", style: null }, t === 0 ? "0" : formatDuration(t)));
      ticks[ticks.length - 1].style.left = pct(start + t);
    }
    const legend = [...new Set(steps.map((s) => s.status))]
      .sort((a, b) => STATUS_ORDER.indexOf(a) - STATUS_ORDER.indexOf(b))
      .map((s) => {
        const item = h("span", {}, s.replace(/_/g, " "));
        item.style.setProperty("--c", `var(--${s.startsWith("waiting") ? "waiting" : s === "queued" ? "pending" : s})`);
        return item;
      });
    const rows = steps.map((s, index) => {
      const open = s.end === null && !TERMINAL.has(s.status);
      const from = s.start === null ? start : s.start;
      // A cancelled step that had started has no end of its own: draw it to its run's end.
      const stopped = s.status === "cancelled" && s.start !== null ? (loaded.run.end ?? end) : from;
      const to = s.end === null ? (open ? end : stopped) : s.end;
      const bar = h("div", {
        class: `bar status-${s.status}${open ? " open" : ""}${s.hitl ? " hitl" : ""}`,
        title: `${s.name}: ${s.status}, ${formatTime(s.start)} → ${s.end === null ? "…" : formatTime(s.end)}`,
      });
      bar.style.left = pct(from);
      // An open bar is never thinner than 2% of the lane, so a step that just started shows.
      bar.style.width = `calc(${pct(open ? Math.max(to, from + span * 0.02) : to)} - ${pct(from)})`;
      const lane = h("div", { class: "lane" }, bar);
      // The caption goes after the bar; before it when the bar ends near the right edge; inside
      // it when the bar spans (nearly) the whole lane.
      const late = (to - start) / span > 0.7;
      const where = !late ? "after" : (from - start) / span > 0.25 ? "before" : "inside";
      const caption = s.hitl && s.hitl.waiting
        ? h("span", { class: `hitl-wait ${where}` }, "waiting for input")
        : h("span", { class: `bar-text ${where}` }, s.end !== null && s.start !== null ? formatDuration(s.end - s.start) : s.note || s.status.replace(/_/g, " "));
      caption.style.left = pct(where === "after" ? to : from);
      lane.append(caption);
      if (s.hitl && s.hitl.respondedAt !== null) {
        const mark = h("span", {
          class: "hitl-mark",
          title: `answered by ${s.hitl.respondedBy || "?"} via ${s.hitl.channel || "?"} at ${formatTime(s.hitl.respondedAt)}`,
        });
        mark.style.left = pct(s.hitl.respondedAt);
        lane.append(mark);
      }
      const selected = state.route.step === String(index);
      return h("div", {
        class: `row${selected ? " selected" : ""}`, role: "button", tabindex: "0",
        dataset: { index: String(index), status: s.status, stepKey: s.key, hitl: s.hitl ? (s.hitl.waiting ? "waiting" : "yes") : null },
        onclick: () => go({ step: String(index) }),
        onkeydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); go({ step: String(index) }); } },
      },
      h("div", { class: "label", title: `${s.name} (${s.type || "step"})` },
        h("span", { class: "name" }, s.name), s.iteration !== null ? h("span", { class: "iter" }, ` [${s.iteration}]`) : null,
        h("span", { class: "sub" }, h("span", { class: "type" }, s.type || "\u00a0"),
          s.hitl ? h("span", { class: "hitl-tag", title: "human in the loop: waits for someone's input" }, "HITL") : null)),
      lane);
    });
    if (steps.some((s) => s.hitl)) legend.push(h("span", { class: "hitl-key" }, "HITL wait"));
    if (steps.some((s) => s.hitl && s.hitl.respondedAt !== null)) legend.push(h("span", { class: "answer-key" }, "answered"));
    if (!steps.length) {
      const status = String(loaded.run.status).replace(/_/g, " ");
      const text = TERMINAL.has(loaded.run.status) && loaded.run.start === null
        ? `The run never started: it was ${status} before it was picked up.`
        : `No step has started yet (the run is ${status}).`;
      return [h("p", { class: "placeholder", id: "no-steps" }, text)];
    }
    return [
      h("div", { class: "legend" }, legend),
      h("div", { class: "timeline", dataset: { steps: String(steps.length) } },
        h("div", { class: "axis" }, h("div", { class: "label" }), h("div", { class: "lane" }, ticks)),
        rows),
    ];
  };

  const part = (title, name, value, isError) => {
    const empty = value === undefined || value === null;
    return h("div", { class: "part" }, h("h4", {}, title),
      h("pre", { class: `json${empty ? " none" : ""}${isError && !empty ? " error" : ""}`, dataset: { part: name } },
        empty ? (value === null ? "null" : "(absent)") : breakable(json(value))));
  };

  const renderStep = async (loaded, token) => {
    const index = state.route.step;
    const holder = $("step-detail-holder");
    if (!holder) return;
    const step = index !== null ? loaded.steps[Number(index)] : undefined;
    if (!step) {
      holder.replaceChildren(h("p", { class: "placeholder" }, "Click a step to see its input, output and error."));
      return;
    }
    const { api, workflow, run } = state.route;
    const shown = await ADAPTERS[api].loadStep(caller(api), workflow, run, step, loaded);
    if (token !== state.renderToken) return; // a newer render owns the pane
    holder.replaceChildren(h("div", { class: "step-detail", id: "step-detail", dataset: { stepKey: step.key, status: step.status } },
      h("header", {}, h("h3", {}, step.name), badge(step.status),
        h("span", { class: "facts" }, `${step.type ? `${step.type} · ` : ""}${formatTime(step.start)} → ${step.end === null ? "…" : formatTime(step.end)}`),
        curlBox(api, shown.endpoint, "this step")),
      h("div", { class: "parts" }, part("Input", "input", shown.input), part("Output", "output", shown.output),
        part("Error", "error", shown.error, true)),
      h("details", { class: "raw" }, h("summary", {}, "Full step JSON"), h("pre", { class: "json", dataset: { part: "raw" } }, breakable(json(shown.data))))));
  };

  const actionBar = (api, loaded) => {
    const actions = ADAPTERS[api].actions ? ADAPTERS[api].actions(loaded) : [];
    if (!actions.length) return null;
    const bar = h("div", { class: "actions", role: "toolbar", "aria-label": "Act on this run" });
    const note = h("span", { class: "action-note", role: "status" },
      state.notice && state.notice.run === loaded.run.id ? state.notice.text : null);
    for (const action of actions) {
      bar.append(h("button", {
        type: "button", class: `action action-${action.name}`, dataset: { action: action.name },
        title: `POST ${action.path}${action.body ? ` ${JSON.stringify(action.body)}` : ""}`,
        onclick: async () => {
          for (const button of bar.querySelectorAll("button")) button.disabled = true;
          note.textContent = `${action.label}…`;
          try {
            const answer = await send(api, action.path, action.body);
            state.notice = { run: loaded.run.id, text: (answer && answer.message) || `${action.label}: done` };
            clearError();
            await loadRun();
            await loadRuns(true);
          } catch (error) {
            note.textContent = "";
            showError(error);
            for (const button of bar.querySelectorAll("button")) button.disabled = false;
          }
        },
      }, action.label));
    }
    bar.append(note);
    return bar;
  };

  const renderRun = async (loaded) => {
    const { api } = state.route;
    const { run } = loaded;
    state.renderToken = (state.renderToken || 0) + 1;
    const token = state.renderToken;
    const duration = run.end !== null && run.start !== null ? run.end - run.start : run.durationMs;
    // Keep the step pane on screen while a refresh fetches it again (no flicker while polling).
    const previous = $("step-detail-holder");
    const holder = h("div", { id: "step-detail-holder" }, ...(previous ? [...previous.childNodes] : []));
    const workflow = state.workflows.items.find((w) => w.id === state.route.workflow);
    $("run").replaceChildren(...[
      h("div", { class: "run-head", dataset: { runId: run.id, status: run.status } },
        h("h2", {}, (workflow && workflow.name) || run.title || run.id), badge(run.status),
        h("span", { class: "facts" }, `${run.id} · ${run.start === null && run.created ? `not started (created ${formatTime(run.created)})` : `started ${formatTime(run.start)}`}${duration !== null ? ` · ${formatDuration(duration)}` : ""}${run.facts ? ` · ${run.facts}` : ""}`),
        curlBox(api, loaded.endpoint, "this run")),
      actionBar(api, loaded),
      run.error ? h("p", { class: "run-error" }, run.error) : null,
      ...renderTimeline(loaded),
      holder,
    ].filter(Boolean));
    $("live").hidden = TERMINAL.has(run.status);
    await renderStep(loaded, token);
  };

  const loadRun = async () => {
    const { api, workflow, run } = state.route;
    if (!run) {
      state.loaded = null;
      $("live").hidden = true;
      $("run").replaceChildren(h("p", { class: "placeholder" }, workflow ? "Pick a run." : "Pick a workflow, then a run, to see its steps on a timeline."));
      return;
    }
    if (!state.loaded || state.loaded.run.id !== run) loading("run", "Loading the run…");
    state.loaded = await ADAPTERS[api].loadRun(caller(api), workflow, run);
    await renderRun(state.loaded);
  };

  // ---- polling ----------------------------------------------------------------------------

  const schedule = () => {
    clearTimeout(state.timer);
    state.timer = setTimeout(tick, (state.meta && state.meta.poll_ms) || 1000);
  };

  const tick = async () => {
    try {
      if (!document.hidden) {
        state.ticks += 1;
        const running = state.loaded && !TERMINAL.has(state.loaded.run.status);
        if (running) {
          await loadRun();
          await loadRuns(true);
        } else if (state.route.workflow && state.ticks % LIST_EVERY === 0) {
          await loadRuns(true);
        }
      }
    } catch (error) {
      showError(error);
    } finally {
      schedule();
    }
  };

  // ---- wiring -----------------------------------------------------------------------------

  const render = async () => {
    const previous = state.route;
    state.route = parseHash();
    document.body.dataset.ready = "false";
    if (!state.route.api) {
      $("workflows").replaceChildren(h("li", { class: "placeholder" }, "No API is mounted."));
      return;
    }
    try {
      renderApis();
      await loadWorkflows();
      const first = state.workflows.items[0];
      if (!state.route.workflow && first) {
        // Every API tab opens its first workflow, so a pane is never empty without a reason.
        location.replace(hashFor({ api: state.route.api, workflow: first.id }));
        return; // the hashchange renders it
      }
      await loadRuns(false);
      const sameRun = previous.run === state.route.run && previous.api === state.route.api && state.loaded;
      if (sameRun && previous.step !== state.route.step) {
        await renderRun(state.loaded); // only the selection changed: no need to fetch the run
      } else {
        await loadRun();
      }
      clearError();
      document.body.dataset.route = location.hash; // what is on screen (tests wait for it)
      document.body.dataset.ready = "true";
    } catch (error) {
      showError(error);
    }
    schedule();
  };

  const start = async () => {
    const input = $("api-key");
    input.value = state.key;
    input.addEventListener("change", () => {
      state.key = input.value.trim() || DEFAULT_KEY;
      localStorage.setItem(KEY_STORAGE, state.key);
      state.workflows = { api: null, items: [] };
      state.runs = { key: null, items: [] };
      state.loaded = null;
      render();
    });
    try {
      const response = await fetch("meta", { headers: { Accept: "application/json" } });
      state.meta = await response.json();
    } catch (error) {
      showError(error);
      return;
    }
    window.addEventListener("hashchange", render);
    render();
  };

  document.addEventListener("DOMContentLoaded", start);
})();
