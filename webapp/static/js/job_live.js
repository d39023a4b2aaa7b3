// The job page, live: follows /ws/jobs/<id>/ and redraws the parts marked data-field from each
// event, so status, progress, worker lanes, log, result and verdict change without a reload.
// The server renders the same state, so the page is complete without JavaScript (it then reloads itself).

import { duration, fill, FINAL_STATES, statusBadge, timestamp, verifiedBadge } from "./job_display.js";
import { liveIndicator, openLiveSocket } from "./live_socket.js";
import { createTaskStream } from "./task_stream.js";

const root = document.querySelector("[data-job-live]");
if (root) followJob(root);

function followJob(root) {
  const jobId = root.dataset.jobId;
  const field = (name) => root.querySelector(`[data-field="${name}"]`);
  let final = FINAL_STATES.has(root.dataset.status);
  let lastSeq = -1;
  let lanes;

  const showState = liveIndicator(root.querySelector(".summary .badges"));
  showState("connecting");
  const socket = openLiveSocket(`/ws/jobs/${jobId}/`, {
    onEvent(event) {
      // Events can overtake each other; one older than what is on the page would undo progress.
      if (event.kind !== "job" || String(event.id) !== jobId || event.seq < lastSeq) return;
      lastSeq = event.seq;
      apply(event);
    },
    onState: showState,
    keepOpen: () => !final,
  });

  function apply(event) {
    const progress = event.progress ?? {};
    root.dataset.status = event.status;
    fill(field("status"), statusBadge(event.status));
    drawProgress(progress, event.status);
    drawLanes(progress, event.status);
    drawPerWorker(progress.workers ?? {});
    if (event.log) drawLog(event.log, event.status);
    // Progress events carry only status, progress and log; the full state (first message, final
    // event) carries everything else, so a missing key means "unchanged".
    if ("verified" in event) drawVerdict(event.verified, event.verification);
    if ("error" in event) showText(field("error"), event.error);
    if ("result" in event) drawResult(event.result);
    if ("artifacts" in event) drawArtifacts(event.artifacts);
    if ("started_at" in event) drawTimings(event);

    if (FINAL_STATES.has(event.status)) {
      const justEnded = !final;
      final = true;
      field("cancel")?.remove();
      field("cancelling")?.remove();
      socket.close(); // nothing more will come
      showState("closed");
      if (justEnded) refreshServerParts();
    }
  }

  function drawProgress(progress, status) {
    const done = progress.done ?? 0;
    const total = progress.total ?? 0;
    const line = field("progress");
    const text = document.createElement("span");
    if (!total && FINAL_STATES.has(status)) {
      text.className = "muted";
      text.textContent = "no units ran";
      fill(line, text);
      return;
    }
    const bar = line.querySelector("progress") ?? document.createElement("progress");
    if (total) {
      bar.max = total;
      bar.value = done;
      bar.textContent = `${done}/${total}`;
      const parts = [`${done}/${total} units`];
      if (!FINAL_STATES.has(status) && progress.elapsed != null) {
        parts.push(`${duration(progress.elapsed)} elapsed`);
        if (done > 0 && done < total) parts.push(`about ${duration((progress.elapsed / done) * (total - done))} left`);
      }
      text.textContent = parts.join(" · ");
    } else {
      bar.removeAttribute("value"); // indeterminate until the first unit is counted
      text.className = "muted";
      text.textContent = status === "queued" ? "waiting for a worker" : "starting";
    }
    fill(line, bar, text);
  }

  function drawLanes(progress, status) {
    const spans = progress.spans ?? [];
    const section = field("lanes-section");
    if (status === "queued" || (FINAL_STATES.has(status) && !spans.length)) {
      section.hidden = true;
      return;
    }
    section.hidden = false; // before the chart is made: Chart.js sizes itself from its container
    lanes ??= createTaskStream(field("lanes"), { workers: Number(root.dataset.workers) || 1 });
    if (lanes === null) section.hidden = true;
    else lanes.update(progress);
  }

  function drawPerWorker(workers) {
    const rows = Object.entries(workers)
      .map(([worker, units]) => [Number(worker), units])
      .sort((a, b) => a[0] - b[0])
      .map(([worker, units]) => {
        const row = document.createElement("tr");
        const name = document.createElement("th");
        name.textContent = `worker ${worker}`;
        const count = document.createElement("td");
        count.className = "num";
        count.textContent = units;
        row.append(name, count);
        return row;
      });
    fill(field("per-worker"), ...rows);
    field("per-worker-section").hidden = rows.length === 0;
  }

  function drawLog(lines, status) {
    const pre = field("log");
    const note = field("log-note");
    // Events carry the last LOG_LINES (200) lines of the log, as the page does.
    note.hidden = lines.length > 0 && lines.length < 200;
    if (!lines.length) note.textContent = FINAL_STATES.has(status) ? "No log output." : "No log output yet.";
    else if (lines.length >= 200) note.textContent = `The last ${lines.length} lines.`;
    pre.hidden = !lines.length;
    const text = lines.join("\n");
    if (pre.textContent === text) return;
    // Follow the tail unless the reader has scrolled up to read something.
    const following = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
    pre.textContent = text;
    if (following) pre.scrollTop = pre.scrollHeight;
  }

  function drawVerdict(verified, verification) {
    fill(field("verified"), verifiedBadge(verified, verification));
    const detail = field("verification");
    showText(detail, verification);
    detail.classList.toggle("failed", verified === false);
  }

  function drawResult(result) {
    field("result-section").hidden = result === null || result === undefined;
    field("result").textContent = result == null ? "" : JSON.stringify(result, null, 2);
  }

  function drawArtifacts(names) {
    const box = field("artifacts");
    const shown = [...box.querySelectorAll("[data-artifact]")].map((figure) => figure.dataset.artifact);
    if (!names.length || names.join("\n") === shown.join("\n")) return;
    const figures = names.map((name) => {
      const url = `/jobs/${jobId}/artifacts/${encodeURIComponent(name)}`;
      const figure = document.createElement("figure");
      figure.className = "artifact";
      figure.dataset.artifact = name;
      if (/\.png$/i.test(name)) {
        const image = document.createElement("img");
        image.src = url;
        image.alt = `${name} produced by job #${jobId}`;
        figure.append(image);
      }
      const caption = document.createElement("figcaption");
      const link = document.createElement("a");
      link.href = url;
      link.textContent = name;
      caption.append(link);
      figure.append(caption);
      return figure;
    });
    fill(box, ...figures);
    field("artifacts-section").hidden = false;
  }

  function drawTimings(event) {
    field("started_at").textContent = timestamp(event.started_at, { seconds: true });
    field("finished_at").textContent = timestamp(event.finished_at, { seconds: true });
    field("wall_time").textContent = duration(event.wall_time);
    field("worker_host").textContent = event.worker_host || "—";
    const queued = field("queued_at").dataset.value;
    field("queue_time").textContent = event.started_at
      ? duration((Date.parse(event.started_at) - Date.parse(queued)) / 1000)
      : "—";
  }

  // Parts the events do not carry (provenance) come from the server's own rendering, once, at the end.
  async function refreshServerParts() {
    try {
      const response = await fetch(location.pathname, { headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const part of page.querySelectorAll("[data-server-part]")) {
        root.querySelector(`[data-server-part="${part.dataset.serverPart}"]`)?.replaceWith(document.adoptNode(part));
      }
    } catch {
      // Missing until the next reload; everything else on the page is already current.
    }
  }
}

function showText(element, text) {
  element.textContent = text ?? "";
  element.hidden = !text;
}
