// The playground page: one Lifeline connection, its status, a message box and the server controls.
// Plain script on purpose: it runs as served, with the CDN build's global `Lifeline`.
(() => {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const logList = $("log");
  const select = $("transports");
  const toggle = $("toggle");
  const endpoint = new URL("/lifeline", location.href).href;
  const MAX_LOG_LINES = 500;

  function log(kind, text) {
    const item = document.createElement("li");
    item.className = kind;
    const time = document.createElement("time");
    time.textContent = new Date().toTimeString().slice(0, 8);
    item.append(time, text);
    const atBottom = logList.scrollTop + logList.clientHeight >= logList.scrollHeight - 4;
    logList.append(item);
    while (logList.childElementCount > MAX_LOG_LINES) logList.firstElementChild.remove();
    if (atBottom) logList.scrollTop = logList.scrollHeight;
  }

  if (typeof Lifeline === "undefined") {
    $("missing").style.display = "block";
    log("error", "client build not loaded (/lifeline.min.js)");
    // Nothing works without it: say so on every control rather than leave them dead.
    for (const control of document.querySelectorAll("button:not(#clear), input, select")) control.disabled = true;
    $("clear").addEventListener("click", () => logList.replaceChildren());
    return;
  }

  const show = (data) => (typeof data === "string" ? JSON.stringify(data) : `<${data.byteLength} bytes>`);

  // The forced transport lives in the URL (?transport=polling), so a reload or a shared link keeps it.
  const initial = new URLSearchParams(location.search).get("transport");
  if (initial && [...select.options].some((option) => option.value === initial)) select.value = initial;
  else if (initial !== null) rememberChoice(); // an unknown one leaves the URL

  let conn = null;

  function render() {
    const state = conn ? conn.state : "closed";
    // A closed connection keeps its last session id and rtt; the page shows it has none.
    const live = conn && state !== "closed" ? conn : null;
    $("state").textContent = state;
    $("state").dataset.state = state;
    $("transport").textContent = (live && live.transport) || "–";
    $("session").textContent = (live && live.id) || "–";
    $("rtt").textContent = live && live.rtt !== null ? `${Math.round(live.rtt)} ms` : "–";
    $("buffered").textContent = conn ? String(conn.bufferedMessages) : "–";
    toggle.textContent = conn && state !== "closed" ? "Disconnect" : "Connect";
  }

  function open() {
    const choice = select.value;
    const options = choice === "auto" ? {} : { transports: [choice] };
    const c = Lifeline.connect(endpoint, options);
    conn = c;
    log("info", `connecting to ${endpoint} (${choice === "auto" ? "any transport" : `${choice} only`})`);
    // Events of a connection that was replaced still get logged, tagged, but never drive the view.
    const tag = (text) => (c === conn ? text : `[previous connection] ${text}`);
    c.on("statechange", ({ from, to, reason }) => {
      log("info", tag(`${from} → ${to}: ${reason}`));
      render();
    });
    c.on("open", ({ transport, resumed, sessionLost, resent }) => {
      let text = `open over ${transport}, session ${c.id}`;
      if (resumed) text += " (resumed: nothing lost)";
      else if (sessionLost) {
        const what = resent.length ? `${resent.length} unacknowledged message(s) resent` : "nothing of ours was unacknowledged";
        text += ` (previous session lost: messages the server sent meanwhile may be missing; ${what})`;
      }
      log("info", tag(text));
      render();
    });
    // Fallbacks and the background upgrade to WebSocket, with the client's reason.
    c.on("transport", ({ from, to, reason }) => {
      log("info", tag(`transport ${from || "–"} → ${to}: ${reason}`));
      render();
    });
    c.on("message", (data) => log("in", tag(`← ${show(data)}`)));
    c.on("error", (error) => log("error", tag(`${error.code}: ${error.message}`)));
    c.on("close", ({ code, reason, unacknowledged }) => {
      log("info", tag(`closed: ${code}${reason ? ` ${reason}` : ""}`));
      if (unacknowledged.length) log("error", tag(`${unacknowledged.length} message(s) the server never acknowledged`));
      render();
    });
    render();
  }

  function close() {
    if (conn) conn.close();
    render();
  }

  function rememberChoice() {
    const url = new URL(location.href);
    if (select.value === "auto") url.searchParams.delete("transport");
    else url.searchParams.set("transport", select.value);
    history.replaceState(null, "", url);
  }

  select.addEventListener("change", () => {
    rememberChoice();
    close();
    open();
  });

  toggle.addEventListener("click", () => {
    if (conn && conn.state !== "closed") close();
    else open();
  });

  $("send").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("text");
    const text = input.value;
    if (!conn || conn.state === "closed") return log("error", "not connected: press Connect first");
    try {
      conn.send(text);
      log("out", `→ ${show(text)}${conn.state === "open" ? "" : ` (queued while ${conn.state})`}`);
      input.value = "";
    } catch (error) {
      log("error", `${error.code || "ERROR"}: ${error.message}`);
    }
    render();
  });

  async function control(action) {
    try {
      const response = await fetch(`/control/${action}`, { method: "POST" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const result = await response.json();
      if (action === "push") log("info", `server pushed ${JSON.stringify(result.sent)} to ${result.sessions} session(s)`);
      else log("info", `server dropped ${result.links} link(s) and refuses connections for ${result.outageMs} ms; clients reconnect and resume`);
    } catch (error) {
      // A fetch that cannot connect: the server is down, or in the outage after a drop.
      const hint = error instanceof TypeError ? " (the server is unreachable: stopped, or refusing connections for a moment after a drop)" : "";
      log("error", `${action} failed: ${error.message}${hint}`);
    }
  }
  $("push").addEventListener("click", () => control("push"));
  $("drop").addEventListener("click", () => control("drop"));
  $("clear").addEventListener("click", () => logList.replaceChildren());

  // A page that is left says goodbye, so the server ends its session now instead of keeping it
  // for the resume window (and counting it in "push"). One restored from the back/forward
  // cache connects again.
  addEventListener("pagehide", () => conn && conn.close());
  addEventListener("pageshow", (event) => {
    if (event.persisted && (!conn || conn.state === "closed")) open();
  });

  // rtt and the unacknowledged count change without an event of their own.
  setInterval(render, 500);
  open();
})();
