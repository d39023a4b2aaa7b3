// Tells you when the job on this page ends: the tab's title shows its state, and, if you ask for it,
// a desktop notification arrives even when the tab is hidden. It only watches the page: job_live.js
// keeps the root's data-status up to date, and this module reacts to that attribute changing.
const FINAL = new Set(["succeeded", "failed", "cancelled"]);
const MARK = { queued: "⏳", running: "▶", succeeded: "✓", failed: "✗", cancelled: "■" };
const WANTED = "paralab.notify-jobs"; // localStorage: this browser asked for desktop notifications

const root = document.querySelector("[data-job-live]");
if (root) {
  const baseTitle = document.title;
  const jobId = root.dataset.jobId;
  let last = root.dataset.status;

  const showTitle = (status) => {
    document.title = MARK[status] ? `${MARK[status]} ${status} · ${baseTitle}` : baseTitle;
  };

  const canNotify = () => "Notification" in window && Notification.permission === "granted"
    && localStorage.getItem(WANTED) === "1";

  const button = document.createElement("button");
  button.type = "button";
  button.className = "link";
  button.dataset.field = "notify-toggle";
  const label = () => {
    button.textContent = canNotify() ? "Desktop notification on (turn off)" : "Notify me when it ends";
  };

  if ("Notification" in window && !FINAL.has(last)) {
    label();
    button.addEventListener("click", async () => {
      if (canNotify()) {
        localStorage.removeItem(WANTED);
      } else if ((await Notification.requestPermission()) === "granted") {
        localStorage.setItem(WANTED, "1");
      }
      label();
    });
    const status = root.querySelector('[data-field="status"]');
    (status || root).after(button);
  }

  showTitle(last);
  new MutationObserver(() => {
    const status = root.dataset.status;
    if (status === last) return;
    last = status;
    showTitle(status);
    if (FINAL.has(status)) {
      button.remove();
      if (canNotify()) {
        new Notification(`Job #${jobId} ${status}`, { body: baseTitle, tag: `paralab-job-${jobId}` });
      }
    }
  }).observe(root, { attributes: true, attributeFilter: ["data-status"] });
}
