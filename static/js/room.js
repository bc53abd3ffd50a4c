/* The room page: live timeline, composer, members, files, resolve. */
(function () {
  "use strict";
  const W = window.Warroom;
  const t = window.WARROOM_I18N || {};
  const config = JSON.parse(document.getElementById("room-config").textContent);
  const $ = (id) => document.getElementById(id);
  const handlers = {};
  let lastSeen = null;

  /* Other scripts on the page (reports, notes) register for events here. */
  const room = {
    config,
    on(type, handler) { (handlers[type] = handlers[type] || []).push(handler); },
    emit(type, data) { (handlers[type] || []).forEach((h) => { try { h(data); } catch (e) { console.error(e); } }); },
  };
  window.WarroomRoom = room;

  // --- Timeline -------------------------------------------------------------------
  /*
   * The page renders the newest messages only (config.pageSize); older ones load as the
   * timeline scrolls up (?before=<id>). A citation far back (#m123) replaces the list with
   * that message and its neighbours (?around=<id>); scrolling down then loads newer pages
   * (?after=<id>) until the list reaches the live end again. Live messages and the re-read
   * after a reconnect only go to a list that ends at the live end.
   */
  const timeline = $("timeline");
  const older = $("timeline-older");
  const latest = $("timeline-latest");
  const PAGE = 100;
  let hasOlder = !!config.hasOlder;
  let atLatest = true;
  let loading = false;
  timeline.querySelectorAll("li[data-created]").forEach((li) => { lastSeen = li.dataset.created; });

  function renderMessage(message) {
    const when = W.el("span", { class: "when" }, W.el("time", {
      dateTime: message.created_at, title: message.created_at, text: W.formatTime(message.created_at, config.timeZone, true),
    }));
    const who = message.sender ? W.el("span", { class: "who", text: message.sender.name, title: message.sender.name }) : null;
    // A system line comes in every site language; show the page's own.
    const lang = (document.documentElement.lang || "").toLowerCase();
    const text = (message.texts && (message.texts[lang] || message.texts[lang.split("-")[0]])) || message.body;
    const body = W.el("span", { class: "body", text });
    const item = W.el("li", { class: "msg kind-" + message.kind, "data-id": message.id, "data-created": message.created_at }, when, who, body);
    foldLong(item);
    return item;
  }
  const messageItems = () => timeline.querySelectorAll("li.msg");
  const firstItem = () => timeline.querySelector("li.msg");
  const lastItem = () => { const items = messageItems(); return items[items.length - 1]; };

  function showEdges() {
    if (older) older.hidden = !hasOlder;
    if (latest) latest.hidden = atLatest;
  }

  /* A new message (live, sent from here, or re-read after a reconnect). */
  function addMessage(message) {
    if (!atLatest) return;  // the list shows an older stretch; "Jump to the latest" brings the end back
    if (timeline.querySelector(`li[data-id="${message.id}"]`)) return;
    const empty = $("timeline-empty");
    if (empty) empty.remove();
    const stick = timeline.scrollTop + timeline.clientHeight >= timeline.scrollHeight - 40;
    timeline.append(renderMessage(message));
    if (!lastSeen || message.created_at > lastSeen) lastSeen = message.created_at;
    if (stick) timeline.scrollTop = timeline.scrollHeight;
  }

  function prepend(messages) {
    const height = timeline.scrollHeight;
    const first = firstItem();
    const fresh = messages.filter((m) => !timeline.querySelector(`li[data-id="${m.id}"]`)).map(renderMessage);
    if (first) first.before(...fresh); else timeline.append(...fresh);
    // Keep what the reader was looking at in place.
    timeline.scrollTop += timeline.scrollHeight - height;
  }

  async function loadOlder() {
    const first = firstItem();
    if (loading || !hasOlder || !first) return;
    loading = true;
    try {
      const page = await W.api(`${config.api}/messages/?before=${first.dataset.id}&page_size=${PAGE}`);
      prepend(page.results);
      hasOlder = !!page.previous;
    } catch (e) { W.toast(e.message, "error"); }
    finally { loading = false; showEdges(); }
  }

  async function loadNewer() {
    const last = lastItem();
    if (loading || atLatest || !last) return;
    loading = true;
    try {
      const page = await W.api(`${config.api}/messages/?after=${last.dataset.id}&page_size=${PAGE}`);
      const fresh = page.results.filter((m) => !timeline.querySelector(`li[data-id="${m.id}"]`));
      timeline.append(...fresh.map(renderMessage));
      if (!page.next) {
        atLatest = true;
        const end = lastItem();
        if (end) lastSeen = end.dataset.created;
        // What was posted while this page was in flight.
        syncTimeline().catch(() => {});
      }
    } catch (e) { W.toast(e.message, "error"); }
    finally { loading = false; showEdges(); }
  }

  timeline.addEventListener("scroll", () => {
    if (timeline.scrollTop < 200) loadOlder();
    else if (timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 200) loadNewer();
  }, { passive: true });
  if (older) older.querySelector("button").addEventListener("click", loadOlder);
  if (latest) latest.querySelector("button").addEventListener("click", () => {
    // The page itself is the newest stretch: load it again, without the citation.
    history.replaceState(null, "", location.pathname + location.search);
    location.reload();
  });

  /* A message of more than ~40 lines is folded to its first lines (CSS) behind "Show more". */
  const FOLD_LINES = 40;
  function foldLong(item) {
    const body = item.querySelector(".body");
    if (!body) return;
    const lines = body.textContent.split("\n").length + body.querySelectorAll("br").length;
    if (lines <= FOLD_LINES && body.textContent.length < FOLD_LINES * 80) return;
    body.classList.add("clamped");
    const more = W.el("button", { type: "button", class: "show-more", text: t.showMore });
    more.addEventListener("click", () => {
      const open = body.classList.toggle("clamped");
      more.textContent = open ? t.showMore : t.showLess;
    });
    item.append(more);
  }
  timeline.querySelectorAll("li.msg").forEach(foldLong);
  timeline.scrollTop = timeline.scrollHeight;

  function highlight(item) {
    timeline.querySelectorAll("li.cited").forEach((li) => li.classList.remove("cited"));
    item.classList.add("cited");
    item.scrollIntoView({ block: "center" });
    item.setAttribute("tabindex", "-1");
    item.focus({ preventScroll: true });
  }

  /* A citation (a report's, the assistant's) opens the room at #m123: that message, highlighted,
     fetched with its neighbours when it is not among the ones on the page. */
  async function jumpTo(id) {
    const shown = timeline.querySelector(`li[data-id="${id}"]`);
    if (shown) { highlight(shown); return; }
    let page;
    try { page = await W.api(`${config.api}/messages/?around=${id}&page_size=${PAGE}`); }
    catch (e) { W.toast(e.status === 400 ? t.messageNotFound : e.message, "error"); return; }
    const empty = $("timeline-empty");
    if (empty) empty.remove();
    messageItems().forEach((li) => li.remove());
    timeline.append(...page.results.map(renderMessage));
    hasOlder = !!page.previous;
    atLatest = !page.next;
    if (atLatest) { const end = lastItem(); if (end) lastSeen = end.dataset.created; }
    showEdges();
    const item = timeline.querySelector(`li[data-id="${id}"]`);
    if (item) highlight(item);
  }
  function showCited() {
    const match = location.hash.match(/^#m(\d+)$/);
    if (match) jumpTo(match[1]);
  }
  room.jumpTo = jumpTo;
  window.addEventListener("hashchange", showCited);
  showEdges();
  showCited();

  async function syncTimeline() {
    if (!atLatest) return;  // nothing of the live end is on the page to bring up to date
    let url = config.api + "/messages/?page_size=500" + (lastSeen ? "&since=" + encodeURIComponent(lastSeen) : "");
    while (url) {
      const page = await W.api(url);
      page.results.forEach(addMessage);
      url = page.next;
    }
  }

  // --- Header -----------------------------------------------------------------------
  function applyRoom(data) {
    config.status = data.status;
    config.resolvedAt = data.resolved_at;
    const status = $("room-status");
    status.className = "badge status-" + data.status;
    status.dataset.status = data.status;
    status.textContent = t[data.status] || data.status;
    $("room-title").textContent = data.title;
    const severity = $("room-severity");
    if (severity) { severity.value = data.severity; severity.className = "badge sev-" + data.severity; }
    const category = $("room-category");
    const labels = config.categoryLabels || {};
    category.textContent = labels[(data.category || "").trim().toLowerCase()] || data.category || "";
    category.hidden = !data.category;
    const resolution = $("room-resolution");
    resolution.querySelector("span").textContent = data.resolution_summary || "";
    resolution.hidden = !(data.status !== "active" && data.resolution_summary);
    const show = (id, visible) => { const b = $(id); if (b) b.hidden = !visible; };
    show("resolve-open", data.status === "active");
    show("reopen", data.status !== "active");
    show("archive", data.status === "resolved");
    tick();
    room.emit("room.changed", data);
  }

  function tick() {
    const end = config.resolvedAt ? new Date(config.resolvedAt) : new Date();
    $("room-duration").textContent = W.formatDuration(end - new Date(config.createdAt), t);
  }
  setInterval(tick, 30000);

  async function syncRoom() { applyRoom(await W.api(config.api + "/")); }

  // --- Members ----------------------------------------------------------------------
  function renderMembers(members) {
    const list = $("members");
    list.replaceChildren(...members.map((m) => W.el("li", { "data-user": m.user.id },
      W.el("span", { class: "who", text: m.user.name, title: m.user.job_title || "" }),
      W.el("span", { class: "role role-" + m.role, text: m.role_label }),
      config.canManage && m.user.id !== config.me.id
        ? W.el("button", { type: "button", class: "icon remove-member", "data-user": m.user.id, text: "×", ariaLabel: t.remove })
        : null)));
    $("member-count").textContent = members.length;
  }
  async function syncMembers() { renderMembers(await W.api(config.api + "/members/")); }

  $("members").addEventListener("click", async (event) => {
    const button = event.target.closest(".remove-member");
    if (!button) return;
    try { await W.api(`${config.api}/members/${button.dataset.user}/`, { method: "DELETE" }); await syncMembers(); }
    catch (error) { W.toast(error.message, "error"); }
  });
  const memberForm = $("member-form");
  if (memberForm) memberForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("member-error");
    error.hidden = true;
    try {
      await W.api(config.api + "/members/", { method: "POST", json: { user: $("member-user").value, role: $("member-role").value } });
      $("member-user").value = "";
      await syncMembers();
    } catch (e) {
      const details = e.body && e.body.error && e.body.error.details;
      error.textContent = (details && details.user && details.user[0]) || e.message;
      error.hidden = false;
    }
  });

  // --- Files ------------------------------------------------------------------------
  /* The same figures as Django's filesizeformat on the server-rendered list (one decimal). */
  function fileSize(bytes) {
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }
  function addFile(file) {
    const gallery = $("gallery");
    if (gallery.querySelector(`li[data-id="${file.id}"]`)) return;
    const empty = $("gallery-empty");
    if (empty) empty.remove();
    const download = `${config.api}/files/${file.id}/download/`;
    const preview = file.is_image
      ? W.el("img", { src: `${config.api}/files/${file.id}/thumbnail/`, alt: file.name, loading: "lazy" })
      : W.el("span", { class: "file-icon", text: (file.content_type.split("/")[1] || "file").slice(0, 8) });
    gallery.append(W.el("li", { class: "file", "data-id": file.id },
      W.el("a", { href: download, target: "_blank", rel: "noopener" }, preview, W.el("span", { class: "file-name", text: file.name })),
      W.el("small", { text: fileSize(file.size) })));
  }
  async function syncFiles() { (await W.api(config.api + "/files/")).forEach(addFile); }

  function upload(file) {
    return new Promise((resolve, reject) => {
      const error = $("upload-error");
      if (file.size > config.maxFileBytes) {
        reject(new Error(W.format(t.uploadTooLarge, { name: file.name, limit: Math.round(config.maxFileBytes / 1048576) })));
        return;
      }
      const form = new FormData();
      form.append("file", file);
      const xhr = new XMLHttpRequest();
      const bar = $("upload-progress");
      xhr.open("POST", config.api + "/files/");
      xhr.setRequestHeader("X-CSRFToken", W.cookie("csrftoken"));
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) { bar.hidden = false; bar.value = (100 * e.loaded) / e.total; } };
      xhr.onload = () => {
        bar.hidden = true;
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        if (xhr.status === 201) { addFile(body); resolve(body); }
        else reject(new Error((body && body.error && body.error.message) || t.uploadFailed));
      };
      xhr.onerror = () => { bar.hidden = true; reject(new Error(t.uploadFailed)); };
      error.hidden = true;
      xhr.send(form);
    });
  }
  async function uploadAll(files) {
    for (const file of files) {
      try { await upload(file); }
      catch (e) { const error = $("upload-error"); error.textContent = e.message; error.hidden = false; }
    }
  }
  const dropzone = $("dropzone");
  if (dropzone) {
    $("file-input").addEventListener("change", (e) => { uploadAll([...e.target.files]); e.target.value = ""; });
    ["dragenter", "dragover"].forEach((type) => dropzone.addEventListener(type, (e) => { e.preventDefault(); dropzone.classList.add("over"); }));
    ["dragleave", "drop"].forEach((type) => dropzone.addEventListener(type, (e) => { e.preventDefault(); dropzone.classList.remove("over"); }));
    dropzone.addEventListener("drop", (e) => uploadAll([...e.dataTransfer.files]));
  }

  // --- Composer and header controls ------------------------------------------------------
  const composer = $("composer");
  if (composer) {
    const body = $("composer-body");
    composer.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = $("composer-error");
      const text = body.value;
      if (!text.trim()) return;
      error.hidden = true;
      try {
        addMessage(await W.api(config.api + "/messages/", { method: "POST", json: { body: text } }));
        body.value = "";
      } catch (e) {
        error.textContent = t.sendFailed + ": " + e.message;
        error.hidden = false;
      }
    });
    body.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); composer.requestSubmit(); }
    });
  }
  const severity = $("room-severity");
  if (severity) severity.addEventListener("change", async () => {
    try { applyRoom(await W.api(config.api + "/", { method: "PATCH", json: { severity: severity.value } })); }
    catch (e) { W.toast(e.message, "error"); syncRoom(); }
  });

  async function roomAction(action, json) {
    return applyRoom(await W.api(`${config.api}/${action}/`, { method: "POST", json: json || {} }));
  }
  const dialog = $("resolve-dialog");
  if (dialog) {
    $("resolve-open").addEventListener("click", () => { $("resolve-error").hidden = true; dialog.showModal(); $("resolve-summary").focus(); });
    $("resolve-cancel").addEventListener("click", () => dialog.close());
    $("resolve-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const submit = $("resolve-submit");
      submit.disabled = true;
      try {
        await roomAction("resolve", { summary: $("resolve-summary").value, notes: $("resolve-notes").value });
        dialog.close();
        room.emit("room.resolved", {});
      } catch (e) {
        $("resolve-error").textContent = e.message;
        $("resolve-error").hidden = false;
      } finally { submit.disabled = false; }
    });
    $("reopen").addEventListener("click", () => roomAction("reopen").catch((e) => W.toast(e.message, "error")));
    $("archive").addEventListener("click", () => {
      if (confirm(t.confirmArchive)) roomAction("archive").catch((e) => W.toast(e.message, "error"));
    });
  }

  // --- Live events ------------------------------------------------------------------
  const liveState = $("live-state");
  room.connection = W.liveRoom(config.socket, {
    onEvent(event) {
      if (event.type === "message.created") addMessage(event);
      else if (event.type === "room.status") syncRoom().catch(() => {});
      else if (event.type === "member.changed") syncMembers().catch(() => {});
      else if (event.type === "file.added") addFile({ ...event, name: event.name });
      room.emit(event.type, event);
    },
    onSync() {
      Promise.all([syncTimeline(), syncRoom(), syncMembers(), syncFiles()]).catch(() => {});
      room.emit("sync", {});
    },
    onState(state) {
      liveState.className = "live-state " + state;
      liveState.title = state === "live" ? t.live : t.reconnecting;
    },
  });
})();
