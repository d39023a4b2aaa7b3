// A queued job's place in its queue (data-server-part="queue"), kept current while it waits: the
// server's own rendering of this page is fetched every few seconds and the section swapped in.
// job_live.js follows everything else and keeps the article's data-status current.

const REFRESH_MS = 5000;

const root = document.querySelector("[data-job-live]");
if (root) followPlace(root);

function followPlace(root) {
  const part = () => root.querySelector('[data-server-part="queue"]');
  const waiting = () => root.dataset.status === "queued";
  if (!waiting()) return;
  const timer = setInterval(refresh, REFRESH_MS);
  // The moment the job starts (or is cancelled) its place means nothing: hide it then, not at the next tick.
  const watch = new MutationObserver(() => {
    if (waiting()) return;
    part().hidden = true;
    clearInterval(timer);
    watch.disconnect();
  });
  watch.observe(root, { attributes: true, attributeFilter: ["data-status"] });

  async function refresh() {
    if (document.hidden || !waiting()) return;
    try {
      const response = await fetch(location.pathname, { headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.querySelector('[data-server-part="queue"]');
      if (fresh && waiting()) part().replaceWith(document.adoptNode(fresh));
    } catch {
      // The place shown stays until the next tick.
    }
  }
}
