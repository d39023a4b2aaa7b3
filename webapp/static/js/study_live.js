// The study page, live: draws the charts from the embedded study JSON, then, while the study runs,
// polls its API every second, redraws the charts and the running job's progress, and swaps in the
// server-rendered tables (data-server-part) whenever a job starts or ends.
// Without JavaScript the page reloads itself and the SVG links draw the charts on the server.

import { drawCharts, downloadPng } from "./study_charts.js";
import { liveIndicator } from "./live_socket.js";

const POLL_EVERY = 1000; // ms
const FINAL = new Set(["succeeded", "failed", "cancelled"]);

const root = document.querySelector("[data-study-live]");
if (root) followStudy(root);

function followStudy(root) {
  const studyId = root.dataset.studyId;
  let doc = JSON.parse(document.getElementById("study-data").textContent);
  const charts = drawCharts(root, doc);
  window.paralabStudyCharts = charts; // for the browser test and the curious
  if (charts) {
    for (const button of root.querySelectorAll("[data-png]")) {
      button.hidden = false;
      button.addEventListener("click", () => downloadPng(charts[button.dataset.png], `study-${studyId}-${button.dataset.png}.png`));
    }
  }
  // The charts' text and grid follow the theme when it changes (the OS switches to dark at dusk).
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => charts && drawCharts(root, doc, charts));
  if (FINAL.has(doc.status)) return;

  const showState = liveIndicator(root.querySelector(".page-head h1"));
  showState("connecting");
  let failures = 0;

  async function poll() {
    let next;
    try {
      const response = await fetch(root.dataset.api, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      next = await response.json();
      failures = 0;
      showState("live");
    } catch {
      failures += 1;
      showState(failures > 2 ? "reconnecting" : "live");
      setTimeout(poll, POLL_EVERY * Math.min(10, 2 ** failures));
      return;
    }
    const changed = signature(next) !== signature(doc);
    doc = next;
    root.dataset.status = doc.status;
    if (charts) drawCharts(root, doc, charts);
    drawCurrent(doc);
    if (changed) await refreshServerParts();
    if (FINAL.has(doc.status)) {
      showState("closed");
      return;
    }
    setTimeout(poll, POLL_EVERY);
  }

  function drawCurrent(doc) {
    const line = root.querySelector('[data-field="current"]');
    const current = doc.current;
    if (!line || !current) return;
    const link = document.createElement("a");
    link.href = current.page;
    link.textContent = `job #${current.job}`;
    const units = current.total ? `, ${current.done}/${current.total} units` : "";
    line.replaceChildren("now running ", link,
      `: ${current.backend} × ${current.implementation} × ${current.workers}, repetition ${current.repetition}${units}`);
  }

  // The tables are rendered by the server (one template for the page with and without JavaScript).
  async function refreshServerParts() {
    try {
      const response = await fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const part of root.querySelectorAll("[data-server-part]")) {
        const fresh = page.querySelector(`[data-server-part="${part.dataset.serverPart}"]`);
        if (fresh) part.replaceWith(document.importNode(fresh, true));
        else part.remove(); // e.g. the cancel button once the study has ended
      }
    } catch {
      // The next poll tries again.
    }
  }

  setTimeout(poll, POLL_EVERY);
}

function signature(doc) {
  const p = doc.progress;
  // Each implementation's calibration, as it is done, before the study has jobs.
  const calibrated = Object.keys(doc.calibration?.implementations ?? {}).length;
  return [doc.status, p.finished, p.running, p.queued, doc.current?.job ?? "", calibrated].join("/");
}
