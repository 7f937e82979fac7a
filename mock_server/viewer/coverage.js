// stepspec coverage page: the "only my key" filter and the reset button. Plain JavaScript.
//
// The page itself is rendered by the server and works without this file. "Only my key" asks
// the JSON report for ?client=me with the key typed here (the key shared with the run viewer's
// header box), learns the key's fingerprint from the answer's client_filter, and opens
// ?client=<fingerprint>: a link that can be shared, and the key never goes into a URL.
// "Reset" forgets what was recorded for the client on screen, or for every client.
"use strict";

(() => {
  const KEY_STORAGE = "stepspec.viewer.key";
  const VIEWER_DEFAULT = "stepspec-viewer";

  const $ = (id) => document.getElementById(id);

  const start = () => {
    const form = $("coverage-controls");
    if (!form) return;
    const input = $("my-key");
    const note = $("controls-note");
    const filtered = $("filtered");
    const stored = localStorage.getItem(KEY_STORAGE);
    input.value = stored && stored !== VIEWER_DEFAULT ? stored : "";
    form.hidden = false;

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) {
        note.textContent = "Enter the API key your app sends.";
        input.focus();
        return;
      }
      localStorage.setItem(KEY_STORAGE, key);
      note.textContent = "";
      const response = await fetch("coverage?format=json&client=me", {
        headers: { Accept: "application/json", "x-api-key": key },
      });
      if (!response.ok) {
        note.textContent = `The mock answered ${response.status}.`;
        return;
      }
      const report = await response.json();
      location.assign(`coverage?client=${encodeURIComponent(report.client_filter)}`);
    });

    $("reset").addEventListener("click", async () => {
      const client = filtered ? filtered.dataset.client : null;
      const what = client ? `client ${client}` : "every client";
      if (!window.confirm(`Forget everything recorded for ${what}?`)) return;
      const response = await fetch(client ? `coverage?client=${encodeURIComponent(client)}` : "coverage", {
        method: "DELETE",
      });
      if (!response.ok) {
        note.textContent = `The mock answered ${response.status}.`;
        return;
      }
      location.reload();
    });
  };

  document.addEventListener("DOMContentLoaded", start);
})();
