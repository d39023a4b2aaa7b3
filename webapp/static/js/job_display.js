// How a job's fields look on a page: the browser twin of webapp/jobs/templatetags/job_display.py,
// so a row or badge drawn from a live event is the same markup the server renders on reload.

const STATUS_LABELS = {
  queued: "Queued",
  running: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
  cancelled: "Cancelled",
};

export const FINAL_STATES = new Set(["succeeded", "failed", "cancelled"]);

// Verification is a tri-state: a failed check must stand out, "no check" must not look like a pass.
const VERDICTS = new Map([
  [true, ["verified", "verified"]],
  [false, ["verification failed", "not-verified"]],
  [null, ["unchecked", "unchecked"]],
]);

function badge(text, className, title) {
  const span = document.createElement("span");
  span.className = `badge ${className}`;
  span.textContent = text;
  if (title) span.title = title;
  return span;
}

export function statusBadge(status) {
  return badge(STATUS_LABELS[status] ?? status, `status-${status}`);
}

/** The verdict's badge; nothing for a job without a check that has not succeeded (queued, running, failed, cancelled). */
export function verifiedBadge(verified, detail = "", status = "succeeded") {
  if ((verified ?? null) === null && status !== "succeeded") return "";
  const [label, className] = VERDICTS.get(verified ?? null) ?? VERDICTS.get(null);
  return badge(label, className, detail);
}

/**
 * Measured times: 1.234 s, 12.3 s, 2 min 05 s, 1 h 02 min; a dash when unknown.
 * Estimates and clocks ({ rough: true }): whole seconds, "7 s", "57 s", "1 min 37 s".
 * The same rules as the template filter `duration` (webapp/jobs/templatetags/job_display.py).
 */
export function duration(seconds, { rough = false } = {}) {
  if (seconds === null || seconds === undefined || seconds === "") return "—";
  seconds = Number(seconds);
  if (rough && seconds < 60) return seconds < 1 ? "under 1 s" : `${Math.round(seconds)} s`;
  if (seconds < 10) return `${seconds.toFixed(3)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const total = Math.round(seconds);
  const minutes = Math.floor(total / 60);
  const secs = String(total % 60).padStart(2, "0");
  if (minutes < 60) return `${minutes} min ${secs} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

const pad = (n) => String(n).padStart(2, "0");

/**
 * An ISO timestamp as the pages print it (settings.TIME_ZONE is UTC): "2026-11-26 03:40:12", or with the
 * zone ("… UTC"), or without seconds.
 */
export function timestamp(iso, { seconds = false, zone = seconds } = {}) {
  if (!iso) return "—";
  const t = new Date(iso);
  let text = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}`;
  if (seconds) text += `:${pad(t.getUTCSeconds())}`;
  return zone ? `${text} UTC` : text;
}

/** The element's children replaced by `nodes` (elements or strings). */
export function fill(element, ...nodes) {
  element.replaceChildren(...nodes);
  return element;
}
