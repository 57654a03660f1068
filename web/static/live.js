// Live updates: follow the page's event stream (Server-Sent Events) and reload the parts of the
// page an event touches ([data-live] elements), from a fresh copy of the same page. A part the
// user is working in (focus inside, an open edit form, typed but unsent text) is left alone
// until the next event. After a dropped connection the stream resumes from the last event id,
// so nothing is missed; the browser retries by itself, and this script when it gives up.
"use strict";
(() => {
  const status = document.querySelector("[data-live-stream]");
  if (!status || !window.EventSource || !window.fetch) return;
  const onList = !/[?&]session=/.test(status.dataset.liveStream);
  let last = status.dataset.liveAfter || "";
  let source = null;
  let backoff = 2000;
  let running = false;
  let again = false;

  const say = (text, state) => { status.textContent = text; status.dataset.state = state; };

  const busy = (part) => {
    const active = document.activeElement;
    if (active && active !== document.body && part.contains(active)) return true;
    if (part.querySelector("form[data-edit-form]:not([hidden]), form[data-rename-form]:not([hidden])")) return true;
    return [...part.querySelectorAll("input, textarea, select")].some((field) => {
      if (field.type === "hidden") return false;
      if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
      if (field.tagName === "SELECT") return [...field.options].some((o) => o.selected !== o.defaultSelected);
      return field.value !== field.defaultValue;
    });
  };

  // What a part shows: its markup without the forms' CSRF tokens, which differ on every render.
  const shown = (part) => {
    const copy = part.cloneNode(true);
    copy.querySelectorAll("input[name=csrf_token]").forEach((token) => token.removeAttribute("value"));
    return copy.innerHTML;
  };

  const swap = (fresh) => {
    let waiting = false;
    fresh.querySelectorAll("[data-live]").forEach((next) => {
      const key = next.dataset.live;
      const current = document.querySelector(`[data-live="${CSS.escape(key)}"]`);
      if (!current || shown(current) === shown(next)) return;
      if (busy(current)) { waiting = true; return; }
      const thread = current.querySelector(".thread");
      const atBottom = !thread || thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
      const node = document.importNode(next, true);
      node.classList.add("live-updated");
      current.replaceWith(node);
      const newThread = node.querySelector(".thread");
      if (newThread && atBottom) newThread.scrollTop = newThread.scrollHeight;
      document.dispatchEvent(new CustomEvent("live:swapped", { detail: node }));
      setTimeout(() => node.classList.remove("live-updated"), 2000);
    });
    return waiting;
  };

  const refresh = async () => {
    if (running) { again = true; return; }
    running = true;
    try {
      do {
        again = false;
        const response = await fetch(window.location.href, {
          credentials: "same-origin", headers: { "X-Live-Refresh": "1" },
        });
        if (!response.ok) break;
        const html = await response.text();
        if (swap(new DOMParser().parseFromString(html, "text/html"))) {
          // Try the parts left alone again once the user leaves them.
          document.addEventListener("focusout", () => setTimeout(refresh, 300), { once: true });
        }
        if (onList) await new Promise((done) => setTimeout(done, 500)); // one list reload per burst
      } while (again);
    } catch (error) {
      // Offline: the stream's reconnection brings the missed events, and another refresh.
    } finally {
      running = false;
    }
  };

  const handle = (message) => {
    if (message.lastEventId) last = message.lastEventId;
    let event;
    try { event = JSON.parse(message.data); } catch (error) { return; }
    // The list shows no messages and no process steps.
    if (onList && (event.kind === "message" || event.kind === "process_step")) return;
    refresh();
  };

  const connect = () => {
    const url = status.dataset.liveStream;
    const joiner = url.includes("?") ? "&" : "?";
    source = new EventSource(last ? `${url}${joiner}last_event_id=${encodeURIComponent(last)}` : url);
    source.onopen = () => { backoff = 2000; say("Live", "live"); };
    source.onmessage = handle;
    source.onerror = () => {
      say("Reconnecting…", "reconnecting");
      if (source.readyState === EventSource.CLOSED) { // refused (e.g. 503): retry with a pause
        source.close();
        setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, 60000);
      }
    };
  };
  window.addEventListener("online", () => { if (source && source.readyState === EventSource.CLOSED) connect(); });
  connect();
})();
