/* Warroom: small helpers shared by every page (no build step, no framework). */
(function () {
  "use strict";

  function cookie(name) {
    const match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : "";
  }

  /* fetch() for the Warroom API: JSON in and out, CSRF attached, errors as Error with .status and .body. */
  async function api(url, options = {}) {
    const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    const init = Object.assign({ credentials: "same-origin" }, options, { headers });
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.json);
    }
    if (init.method && init.method !== "GET") headers["X-CSRFToken"] = cookie("csrftoken");
    const response = await fetch(url, init);
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
    if (!response.ok) {
      const message = (body && body.error && body.error.message) || (window.WARROOM_I18N || {}).requestFailed || response.statusText;
      const error = new Error(message);
      error.status = response.status;
      error.body = body;
      throw error;
    }
    return body;
  }

  function toast(message, kind = "info", ms = 5000) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const item = document.createElement("div");
    item.className = "toast " + kind;
    item.setAttribute("role", kind === "error" ? "alert" : "status");
    item.textContent = message;
    box.appendChild(item);
    setTimeout(() => item.remove(), ms);
  }

  function formatTime(iso, timeZone, withDate) {
    const options = { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    if (withDate) Object.assign(options, { month: "2-digit", day: "2-digit" });
    const parts = new Intl.DateTimeFormat("en-CA", options).formatToParts(new Date(iso));
    const get = (type) => (parts.find((p) => p.type === type) || {}).value || "";
    return (withDate ? get("month") + "-" + get("day") + " " : "") + get("hour") + ":" + get("minute");
  }

  function formatDuration(ms, t) {
    const minutes = Math.max(Math.floor(ms / 60000), 0);
    if (!minutes && t.underAMinute) return t.underAMinute;
    const days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), mins = minutes % 60;
    if (days) return days + " " + t.d + " " + hours + " " + t.h;
    if (hours) return hours + " " + t.h + " " + String(mins).padStart(2, "0") + " " + t.min;
    return mins + " " + t.min;
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  /*
   * A room's live connection. The WebSocket is only a hint: whenever it
   * (re)connects, onSync() re-reads the truth over REST.
   */
  function liveRoom(path, { onEvent, onSync, onState }) {
    let socket = null, delay = 500, closed = false, pingTimer = null;
    function connect() {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + location.host + path);
      socket.onopen = () => {
        delay = 500;
        onState && onState("live");
        onSync && onSync();
        pingTimer = setInterval(() => socket.readyState === 1 && socket.send('{"type":"ping"}'), 25000);
      };
      socket.onmessage = (message) => {
        let data;
        try { data = JSON.parse(message.data); } catch (e) { return; }
        if (data.type !== "pong") onEvent(data);
      };
      socket.onclose = () => {
        clearInterval(pingTimer);
        if (closed) { onState && onState("offline"); return; }
        onState && onState("reconnecting");
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 15000);
      };
    }
    connect();
    return {
      close() { closed = true; socket && socket.close(); },
      socket: () => socket,
    };
  }

  /* The page's words: a json_script block (incidents/page_strings.py), never an inline script. */
  function strings() {
    const block = document.getElementById("warroom-i18n");
    try { return block ? JSON.parse(block.textContent) : {}; } catch (e) { return {}; }
  }
  window.WARROOM_I18N = Object.assign(strings(), window.WARROOM_I18N || {});

  /* "%(name)s is larger than %(limit)d MB." with Python-style named placeholders, as in the catalogue. */
  function format(template, values) {
    return String(template).replace(/%\((\w+)\)[sd]/g, (match, key) => (key in values ? values[key] : match));
  }

  /* Selects that submit their form when changed (the language menu, the severity filter). */
  document.addEventListener("change", (event) => {
    const select = event.target.closest("select.autosubmit");
    if (select && select.form) select.form.submit();
  });

  /* The top bar folds into a menu on narrow screens. */
  const toggle = document.getElementById("menu-toggle");
  if (toggle) toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    document.getElementById("topmenu").classList.toggle("open", open);
  });

  /*
   * 👍/👎 on one AI output (POST /api/feedback/): 👍 is sent at once; 👎 opens an optional
   * comment. target is "report_version", "notes" or "answer"; the words are the page's (COMMON).
   */
  function feedback(target, id) {
    const t = window.WARROOM_I18N || {};
    const box = el("span", { class: "feedback", "data-target": target, "data-id": String(id) });
    const up = el("button", { type: "button", class: "link-button", text: "👍", title: t.rateUp, ariaLabel: t.rateUp });
    const down = el("button", { type: "button", class: "link-button", text: "👎", title: t.rateDown, ariaLabel: t.rateDown });
    const comment = el("input", { type: "text", maxLength: 2000, placeholder: t.feedbackComment, hidden: true });
    const send = el("button", { type: "button", text: t.feedbackSend, hidden: true });
    const said = el("small", { class: "muted", role: "status" });
    // One rating at a time, in the order given: 👎 is sent at once and again with its comment,
    // and the second must not be overtaken by the first (the server keeps the last one it got).
    let queue = Promise.resolve();
    function rate(rating, text) {
      queue = queue.then(() => sendRating(rating, text));
      return queue;
    }
    async function sendRating(rating, text) {
      try {
        await api("/api/feedback/", { method: "POST", json: { target, id: String(id), rating, comment: text || "" } });
        up.classList.toggle("on", rating === "up");
        down.classList.toggle("on", rating === "down");
        comment.hidden = send.hidden = rating === "up" || Boolean(text);
        said.textContent = t.feedbackThanks || "";
      } catch (e) {
        said.textContent = e.message;
      }
    }
    up.addEventListener("click", () => rate("up"));
    down.addEventListener("click", () => { comment.hidden = send.hidden = false; comment.focus(); rate("down"); });
    send.addEventListener("click", () => rate("down", comment.value));
    comment.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); rate("down", comment.value); } });
    box.append(up, down, comment, send, said);
    return box;
  }

  window.Warroom = { api, toast, formatTime, formatDuration, el, liveRoom, cookie, format, feedback };
})();
