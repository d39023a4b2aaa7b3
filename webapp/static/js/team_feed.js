// Job tables, live: follows /ws/teams/<slug>/ for each of the user's teams and keeps the rows'
// status, progress, verdict and wall time current. On the dashboard (a table with data-live-limit)
// a job not in the table yet gets a new row in its place by queue time; the oldest row drops off.
// A study's jobs are folded on the dashboard (data-study-fold): they update their study's line, never
// get a row of their own in the jobs table.

import { duration, fill, statusBadge, timestamp, verifiedBadge } from "./job_display.js";
import { liveIndicator, openLiveSocket } from "./live_socket.js";

const tables = [...document.querySelectorAll("table[data-live-table]")];
// slug → name, from the page (the team links on the dashboard, the team filter's choices in history).
const teams = new Map([...document.querySelectorAll("[data-team-feed]")].map((el) => [el.dataset.teamFeed, el.dataset.teamName]));
if (tables.length && teams.size) followTeams(tables, teams);

// Worst first: the indicator shows the worst state among the page's sockets.
const SEVERITY = ["refused", "reconnecting", "connecting", "live", "closed"];

function followTeams(tables, teams) {
  const lastSeq = new Map(); // job id → seq of the last event applied to its row
  const states = new Map();
  const show = liveIndicator(document.querySelector(".page-head h1"));

  for (const slug of teams.keys()) {
    states.set(slug, "connecting");
    openLiveSocket(`/ws/teams/${encodeURIComponent(slug)}/`, {
      onEvent: apply,
      onState(state) {
        states.set(slug, state);
        show(SEVERITY.find((level) => [...states.values()].includes(level)));
      },
    });
  }
  show("connecting");

  function apply(event) {
    if (event.kind !== "summary") return;
    const id = Number(event.id);
    // Events can overtake each other; an older one would put a finished job back to running.
    if (!Number.isInteger(id) || event.seq < (lastSeq.get(id) ?? -1)) return;
    for (const table of tables) {
      const body = table.tBodies[0];
      const limit = Number(table.dataset.liveLimit) || 0; // 0: keep rows current, never add any
      const row = body.querySelector(`tr[data-job-id="${id}"]`) ?? (limit && event.capability !== "study" ? insertRow(body, limit, event) : null);
      if (!row) continue;
      lastSeq.set(id, event.seq);
      fill(cell(row, "status"), statusBadge(event.status));
      cell(row, "progress").textContent = event.total ? `${event.done}/${event.total}` : "—";
      fill(cell(row, "verified"), verifiedBadge(event.verified, "", event.status));
      cell(row, "wall_time").textContent = duration(event.wall_time);
      const fold = table.closest("[data-study-fold]");
      if (fold) countStudy(fold);
    }
  }

  // A folded study's line: how many of its jobs have ended, counted from its rows.
  function countStudy(fold) {
    const statuses = [...fold.querySelectorAll('tr[data-job-id] [data-field="status"] .badge')].map((badge) => badge.className);
    const finished = statuses.filter((name) => /status-(succeeded|failed|cancelled)/.test(name)).length;
    const bar = fold.querySelector("summary progress");
    if (bar) bar.value = finished;
    const text = fold.querySelector('[data-field="study-progress"]');
    if (text) text.textContent = `${finished}/${statuses.length} jobs finished`;
  }

  function insertRow(body, limit, event) {
    const rows = [...body.querySelectorAll("tr[data-job-id]")];
    // Tables are ordered newest first (queued_at, then id, descending), as the server orders them.
    const key = [Date.parse(event.queued_at), Number(event.id)];
    const next = rows.find((row) => isNewer(key, rowKey(row)));
    if (!next && rows.length >= limit) return null; // older than everything on a full table
    const row = buildRow(event);
    body.querySelector("tr[data-empty]")?.remove();
    body.insertBefore(row, next ?? null);
    for (const extra of [...body.querySelectorAll("tr[data-job-id]")].slice(limit)) {
      lastSeq.delete(Number(extra.dataset.jobId));
      extra.remove();
    }
    return row;
  }

  function buildRow(event) {
    const row = document.createElement("tr");
    row.dataset.jobId = event.id;
    row.dataset.team = event.team;
    row.className = "arrived";
    const add = (content, { name, num = false, wide = false } = {}) => {
      const td = document.createElement("td");
      if (name) td.dataset.field = name;
      td.className = [num ? "num" : "", wide ? "wide" : ""].join(" ").trim();
      if (content !== undefined) td.append(content);
      row.append(td);
    };
    const link = document.createElement("a");
    link.href = `/jobs/${event.id}/`;
    link.textContent = `#${event.id}`;
    const queued = document.createElement("time");
    queued.dateTime = event.queued_at;
    queued.textContent = timestamp(event.queued_at, { seconds: true, zone: false }); // as _table.html
    // The columns of templates/jobs/_table.html; "wide" ones are hidden on a phone.
    add(link);
    add("—", { wide: true }); // not a study's job: those are folded into their study's line
    add(teams.get(event.team) ?? event.team, { wide: true });
    add(event.workload);
    add(event.backend);
    add(event.implementation, { wide: true });
    add(String(event.workers), { num: true, wide: true });
    add(undefined, { name: "status" });
    add(undefined, { name: "progress", num: true });
    add(undefined, { name: "verified", wide: true });
    add(undefined, { name: "wall_time", num: true });
    add(event.submitted_by, { wide: true });
    add(queued, { name: "queued_at" });
    return row;
  }
}

function cell(row, name) {
  return row.querySelector(`[data-field="${name}"]`);
}

function rowKey(row) {
  return [Date.parse(row.querySelector("time")?.getAttribute("datetime")), Number(row.dataset.jobId)];
}

function isNewer([time, id], [otherTime, otherId]) {
  return time > otherTime || (time === otherTime && id > otherId);
}
