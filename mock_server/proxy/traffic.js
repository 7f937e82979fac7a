// stepspec proxy: the Traffic view. Polls traffic?format=json and redraws; no build step.
"use strict";

const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) node.append(child);
  return node;
}

// The upstream is in the top bar; a row shows the path and query only.
function shortUrl(url) {
  try { const parsed = new URL(url); return parsed.pathname + parsed.search; } catch (_) { return url; }
}

function exchangeRow(row) {
  const status = row.status || "—";
  const tr = el("tr", { className: row.findings.length ? "has-findings" : row.judged ? "" : "pending" });
  tr.dataset.id = row.id;
  tr.append(
    el("td", {}, String(row.id)),
    el("td", {}, row.started.slice(11, 23)),
    el("td", { className: "url", title: row.note || row.url }, `${row.method} ${shortUrl(row.url)}`),
    el("td", {}, row.operation || ""),
    el("td", { className: `code-${String(row.status).charAt(0)}` }, String(status)),
    el("td", {}, String(row.time_ms)),
    el("td", {}, row.judged ? String(row.findings.length) : row.note ? "not judged" : "…"),
  );
  return tr;
}

function findingItem(finding) {
  const where = finding.operation ? ` [${finding.operation}]` : "";
  const li = el("li", {},
    el("span", { className: `sev ${finding.severity}` }, finding.severity), " ",
    el("strong", {}, finding.check), where, " ", el("span", {}, finding.title),
  );
  const lines = [`at ${finding.path} (exchange #${finding.exchange})`];
  if (finding.expected) lines.push(`expected: ${finding.expected}`);
  if (finding.found) lines.push(`found:    ${finding.found}`);
  if (finding.source) lines.push(`rule from: ${finding.source}`);
  li.append(el("code", {}, lines.join("\n")));
  return li;
}

function render(data) {
  $("target").textContent = `${data.api} → ${data.target}`;
  const c = data.counts;
  $("counts").textContent =
    `${c.exchanges} exchanges · ${c.findings} findings (${c.errors} errors)` +
    (c.pending ? ` · ${c.pending} being judged` : "") + (c.unjudged ? ` · ${c.unjudged} not judged` : "");
  $("recording").textContent = data.recording
    ? `recording ${data.recording.entries} to ${data.recording.path}` : "";
  const body = $("exchanges");
  body.replaceChildren(...(data.exchanges.length
    ? data.exchanges.map(exchangeRow)
    : [el("tr", {}, el("td", { colSpan: 7, className: "empty" }, "No traffic yet: point a client at this proxy."))]));
  const list = $("findings");
  list.replaceChildren(...(data.findings.length
    ? data.findings.map(findingItem)
    : [el("li", { className: "empty" }, "No finding.")]));
}

async function tick() {
  try {
    const response = await fetch("traffic?format=json", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`traffic?format=json answered ${response.status}`);
    render(await response.json());
    $("banner").hidden = true;
  } catch (error) {
    $("banner").textContent = `The proxy does not answer: ${error.message}`;
    $("banner").hidden = false;
  }
  setTimeout(tick, POLL_MS);
}

tick();
