// The job page, live: follows /ws/jobs/<id>/ and redraws the parts marked data-field from each
// event, so status, progress, worker lanes, log, result and verdict change without a reload.
// The server renders the same state, so the page is complete without JavaScript (it then reloads itself).

import { duration, fill, FINAL_STATES, statusBadge, timestamp, verifiedBadge } from "./job_display.js";
import { liveIndicator, openLiveSocket } from "./live_socket.js";
import { createTaskStream } from "./task_stream.js";

const LOG_LINES = 200; // as webapp/jobs/events.py's LOG_LINES

const root = document.querySelector("[data-job-live]");
if (root) followJob(root);

function followJob(root) {
  const jobId = root.dataset.jobId;
  const field = (name) => root.querySelector(`[data-field="${name}"]`);
  let final = FINAL_STATES.has(root.dataset.status);
  let lastSeq = -1;
  let lanes;
  // What the page has so far: a state event replaces it, each delta appends to it.
  let spans = [];
  let logLines = [];
  let logTotal = 0;
  let askedForState = false;
  let unitLabels = [];
  let current = { progress: {}, status: root.dataset.status }; // the last event applied, for redraws
  // The run's clock: the latest time the events know of, and when it was read, so running units grow.
  let clock = { t: 0, at: performance.now() };
  const lane = root.dataset.workerLabel || "worker";

  const showState = liveIndicator(root.querySelector(".summary .badges"));
  showState("connecting");
  const socket = openLiveSocket(`/ws/jobs/${jobId}/`, {
    onEvent(event) {
      // Events can overtake each other; one older than what is on the page would undo progress.
      if (String(event.id) !== jobId || event.seq < lastSeq) return;
      if (event.kind === "job") takeState(event);
      else if (event.kind === "delta") takeDelta(event);
    },
    onState: showState,
    keepOpen: () => !final,
  });

  function takeState(event) {
    const progress = event.progress ?? {};
    if (Array.isArray(event.unit_labels)) unitLabels = event.unit_labels;
    if (Array.isArray(progress.spans)) {
      spans = progress.spans.slice();
      askedForState = false;
    }
    if (Array.isArray(event.log)) {
      logLines = event.log.slice(-LOG_LINES);
      logTotal = progress.log_total ?? event.log.length;
    }
    lastSeq = event.seq;
    // A status broadcast carries no spans: if it counts more than the page has, one was missed.
    if ((progress.spans_total ?? 0) > spans.length) askForState();
    apply(event);
  }

  function takeDelta(event) {
    // A delta continues from spans_from / log_from; anything beyond what the page has is a gap.
    if (event.spans_from > spans.length || event.log_from > logTotal) {
      askForState();
      return;
    }
    spans.push(...event.spans.slice(spans.length - event.spans_from));
    const fresh = event.log.slice(logTotal - event.log_from);
    logLines = logLines.concat(fresh).slice(-LOG_LINES);
    logTotal += fresh.length;
    lastSeq = event.seq;
    apply({ ...event, log: logLines });
  }

  function askForState() {
    if (askedForState) return;
    askedForState = true;
    socket.send({ type: "state" });
  }

  function apply(event) {
    const progress = { ...(event.progress ?? {}), spans };
    current = { progress, status: event.status };
    const known = Math.max(progress.elapsed ?? 0, ...spans.slice(-50).map((s) => s.end), ...(progress.running ?? []).map((r) => r[2]));
    clock = { t: known, at: performance.now() };
    root.dataset.status = event.status;
    fill(field("status"), statusBadge(event.status));
    drawProgress(progress, event.status);
    drawLanes(progress, event.status);
    drawPerWorker(progress.workers ?? {});
    if (event.log) drawLog(logLines, event.status);
    // Deltas carry only status, progress and log; the full state (first message, final event)
    // carries everything else, so a missing key means "unchanged".
    if ("verified" in event) drawVerdict(event.verified, event.verification, event.status);
    if ("error" in event) showText(field("error"), event.error);
    if ("result" in event) drawResult(event.result);
    if ("artifacts" in event) drawArtifacts(event.artifacts);
    if ("started_at" in event) drawTimings(event);

    if (FINAL_STATES.has(event.status) && !askedForState) {
      const justEnded = !final;
      offerReplay(progress, event);
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
      text.textContent = (progress.running ?? []).length ? "no unit finished" : "no units ran";
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
        parts.push(`${duration(progress.elapsed, { rough: true })} elapsed`);
        if (done > 0 && done < total) parts.push(`about ${duration((progress.elapsed / done) * (total - done), { rough: true })} left`);
      }
      if (!FINAL_STATES.has(status) && progress.scheduler) parts.push(progress.scheduler.text);
      text.textContent = parts.join(" · ");
    } else {
      bar.removeAttribute("value"); // indeterminate until the first unit is counted
      text.className = "muted";
      // A batch scheduler's word while the job waits there: "queued in Slurm: Resources".
      text.textContent = status === "queued" ? "waiting for a worker" : (progress.scheduler?.text ?? "starting");
    }
    fill(line, bar, text);
  }

  function drawLanes(progress, status, now = runNow(status)) {
    const section = field("lanes-section");
    const running = progress.running ?? [];
    if (status === "queued" || (FINAL_STATES.has(status) && !spans.length && !running.length)) {
      section.hidden = true;
      return;
    }
    section.hidden = false; // before the chart is made: Chart.js sizes itself from its container
    lanes ??= createTaskStream(field("lanes"), { workers: Number(root.dataset.workers) || 1, lane });
    if (lanes === null) section.hidden = true;
    else lanes.update(progress, { now, labels: unitLabels });
  }

  // While units run, their bars grow with the run's clock, between events too.
  function runNow(status) {
    if (FINAL_STATES.has(status)) return current.progress.elapsed ?? clock.t;
    return clock.t + (performance.now() - clock.at) / 1000;
  }
  setInterval(() => {
    if (!final && current.status === "running" && (current.progress.running ?? []).length) {
      drawLanes(current.progress, current.status);
    }
  }, 250);

  // A finished run can be replayed: the lanes and the log as they were t seconds into the run.
  function offerReplay(progress, event) {
    const slider = field("replay");
    if (!slider || !lanes || !spans.length) return;
    const end = Math.max(event.wall_time ?? 0, ...spans.map((s) => s.end));
    const times = progress.log_times ?? [];
    const lines = logLines.slice();
    const lineTimes = times.slice(-lines.length);
    slider.max = String(end);
    slider.step = String(Math.max(end / 500, 0.001));
    slider.value = String(end);
    field("replay-section").hidden = false;
    slider.oninput = () => {
      const t = Number(slider.value);
      field("replay-at").textContent = `${duration(t)} of ${duration(end)}`;
      const done = spans.filter((s) => s.end <= t);
      const busy = spans.filter((s) => s.start <= t && s.end > t).map((s) => [s.unit, s.worker, s.start]);
      lanes.update({ ...progress, spans: done, running: busy }, { now: t, labels: unitLabels });
      // Lines without a recorded time (older runs) are shown throughout.
      const shown = lineTimes.length === lines.length ? lines.filter((_, i) => lineTimes[i] <= t) : lines;
      drawLog(shown, "succeeded");
    };
  }

  function drawPerWorker(workers) {
    const rows = Object.entries(workers)
      .map(([worker, units]) => [Number(worker), units])
      .sort((a, b) => a[0] - b[0])
      .map(([worker, units]) => {
        const row = document.createElement("tr");
        const name = document.createElement("th");
        name.textContent = `${lane} ${worker}`;
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
    // The page keeps the last LOG_LINES lines of the log, as the server's rendering does.
    note.hidden = lines.length > 0 && lines.length < LOG_LINES;
    if (!lines.length) note.textContent = FINAL_STATES.has(status) ? "No log output." : "No log output yet.";
    else if (lines.length >= LOG_LINES) note.textContent = `The last ${lines.length} lines.`;
    pre.hidden = !lines.length;
    const text = lines.join("\n");
    if (pre.textContent === text) return;
    // Follow the tail unless the reader has scrolled up to read something.
    const following = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
    pre.textContent = text;
    if (following) pre.scrollTop = pre.scrollHeight;
  }

  function drawVerdict(verified, verification, status) {
    fill(field("verified"), verifiedBadge(verified, verification, status));
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
