/* Ticket notes: a skeleton until the first token, the text as it streams, Copy when done. */
(function () {
  "use strict";
  const W = window.Warroom, room = window.WarroomRoom, t = window.WARROOM_I18N;
  const config = room.config;
  const $ = (id) => document.getElementById(id);
  const card = $("notes-card"), text = $("notes-text"), skeleton = $("notes-skeleton");
  let current = null, versions = [], streaming = false, raw = "";

  /* The notes are light Markdown: "## " headings and "- " bullets. Rendered as text nodes only. */
  function draw(source) {
    raw = source;
    const nodes = [];
    let list = null;
    for (const line of source.split("\n")) {
      const heading = line.match(/^#{1,6}\s+(.*)$/);
      const bullet = line.match(/^\s*(?:[-*•]|\d+[.)])\s+(.*)$/);
      if (bullet) {
        if (!list) { list = W.el("ul"); nodes.push(list); }
        list.append(W.el("li", { text: bullet[1] }));
        continue;
      }
      list = null;
      if (heading) nodes.push(W.el("h4", { text: heading[1] }));
      else if (line.trim()) nodes.push(W.el("p", { text: line }));
    }
    text.replaceChildren(...nodes);
  }

  function setWaiting(waiting) {
    skeleton.hidden = !waiting;
    if (waiting) { draw(""); $("notes-copy").hidden = true; $("notes-next").hidden = true; $("notes-error").hidden = true; }
  }

  function showNextSteps(items) {
    const list = $("notes-next-list");
    list.replaceChildren(...(items || []).map((item) => W.el("li", {},
      W.el("span", { text: item }),
      config.canContribute ? W.el("button", { type: "button", class: "add-task", "data-title": item, text: "+ " + t.addTask }) : null)));
    $("notes-next").hidden = !(items && items.length);
  }

  function showVersion(note) {
    current = note.id;
    card.hidden = false;
    const index = versions.findIndex((v) => v.id === note.id);
    $("notes-version").textContent = versions.length > 1 ? `${t.version} ${versions.length - index} ${t.of} ${versions.length}` : "";
    const running = note.status !== "completed" && note.status !== "failed";
    if (running && !streaming) setWaiting(true);
    if (note.status === "completed") {
      setWaiting(false);
      draw(note.text);
      $("notes-copy").hidden = false;
      $("notes-meta").textContent = note.provider === "offline" ? t.offline : note.provider === "offline-fallback" ? t.fallback : t.ai;
      showNextSteps(note.next_steps);
    } else if (note.status === "failed") {
      setWaiting(false);
      $("notes-error").textContent = note.error_message || t.notesFailed;
      $("notes-error").hidden = false;
    }
  }

  async function sync() {
    try { versions = await W.api(config.api + "/notes"); } catch (e) { return; }
    if (versions.length) showVersion(versions[0]);
  }

  room.on("notes.delta", (e) => {
    if (current !== e.report_id) { current = e.report_id; versions.unshift({ id: e.report_id, status: "generating_content" }); }
    card.hidden = false;
    streaming = true;
    skeleton.hidden = true;
    draw(e.replace ? e.delta : raw + e.delta);
  });
  room.on("notes.done", (e) => { streaming = false; sync(); });
  room.on("notes.failed", (e) => {
    streaming = false;
    setWaiting(false);
    $("notes-error").textContent = e.message || t.notesFailed;
    $("notes-error").hidden = false;
  });
  room.on("room.resolved", () => { card.hidden = false; streaming = false; setWaiting(true); });
  room.on("sync", sync);

  $("notes-copy").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(raw); }
    catch (e) {
      const range = document.createRange(); range.selectNodeContents(text);
      const selection = getSelection(); selection.removeAllRanges(); selection.addRange(range); document.execCommand("copy");
    }
    W.toast(t.copied, "ok", 2000);
  });
  $("notes-regenerate").addEventListener("click", async () => {
    setWaiting(true);
    streaming = false;
    try {
      const note = await W.api(config.api + "/notes", { method: "POST", json: {} });
      current = note.id;
      versions.unshift(note);
    } catch (e) { setWaiting(false); W.toast(e.message, "error"); }
  });
  $("notes-next-list").addEventListener("click", async (event) => {
    const add = event.target.closest(".add-task");
    if (!add) return;
    add.disabled = true;
    try {
      await W.api(config.api + "/action-items/", { method: "POST", json: { title: add.dataset.title, source: "notes" } });
      add.textContent = "✓ " + t.added;
      room.emit("tasks.changed", {});
    } catch (e) { add.disabled = false; W.toast(e.message, "error"); }
  });
  sync();
})();
