// A WebSocket to one of Paralab's live channels that reconnects with backoff when it drops.

const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_FORBIDDEN = 4403; // access lost while connected (removed from the team)
const CLOSE_NOT_FOUND = 4404;
const FIRST_DELAY = 500; // ms; doubles per failed attempt
const MAX_DELAY = 15000;

/**
 * Open `path` (e.g. "/ws/jobs/7/") on this page's host, ws:// or wss:// as the page itself.
 * onEvent(event) gets each parsed JSON message; onState(state, code) hears "live", "reconnecting",
 * "refused" (4401 / 4404: retrying cannot help) and "closed". keepOpen() says whether a dropped
 * socket is worth reopening (a finished job's is not).
 */
export function openLiveSocket(path, { onEvent, onState = () => {}, keepOpen = () => true }) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}${path}`;
  let socket = null;
  let attempt = 0;
  let timer = null;
  let stopped = false;

  function connect() {
    const current = new WebSocket(url);
    socket = current;
    current.addEventListener("open", () => onState("live"));
    current.addEventListener("message", (message) => {
      // The server accepts before it checks access (then closes with 4401/4404): only a message
      // proves the subscription, so only a message resets the backoff.
      attempt = 0;
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      onEvent(event);
    });
    current.addEventListener("close", (closed) => {
      if (stopped) return;
      if ([CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND].includes(closed.code)) {
        onState("refused", closed.code);
        return;
      }
      if (!keepOpen()) {
        onState("closed", closed.code);
        return;
      }
      const delay = Math.min(MAX_DELAY, FIRST_DELAY * 2 ** attempt) * (0.75 + Math.random() / 2);
      attempt += 1;
      onState("reconnecting", closed.code);
      timer = setTimeout(connect, delay);
    });
  }

  connect();
  return {
    /** Send a JSON message if the socket is open (e.g. ask for the whole state after a gap). */
    send(message) {
      if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    },
    close() {
      stopped = true;
      clearTimeout(timer);
      socket?.close(1000);
    },
  };
}

/** A small "live" / "reconnecting…" / "not live" marker next to a page's heading. */
export function liveIndicator(anchor) {
  const marker = document.createElement("span");
  marker.className = "live-state";
  marker.setAttribute("role", "status");
  anchor?.append(" ", marker);
  const labels = {
    connecting: "connecting…",
    live: "live",
    reconnecting: "reconnecting…",
    refused: "not live",
    closed: "",
  };
  return (state) => {
    marker.dataset.state = state;
    marker.textContent = labels[state] ?? state;
    marker.hidden = !marker.textContent;
  };
}
