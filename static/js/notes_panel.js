/* Ticket notes: a skeleton until the first token, the text as it streams, Copy when done. */
(function () {
  "use strict";
  const W = window.Warroom, room = window.WarroomRoom, t = window.WARROOM_I18N;
  const config = room.config;
  const $ = (id) => document.getElementById(id);
  const card = $("notes-card"), text = $("notes-text"), skeleton = $("notes-skeleton");
  let current = null, versions = [], streaming = false, raw = "", lastStatus = config.status;
  let nextSteps = [];
  const taken = new Map();  // "notesVersion:step" -> the task made from it (remembered by the server)

  /*
   * The notes are light Markdown: "## " headings and "- " bullets, rendered as text nodes only.
   * With ``steps`` (the finished notes' next steps), the section that lists them is left out of
   * the text: the list under it, with its "Add as task" buttons, says it once.
   */
  function draw(source, steps) {
    raw = source;
    const blocks = [];
    let list = null;
    for (const line of source.split("\n")) {
      const heading = line.match(/^#{1,6}\s+(.*)$/);
      const bullet = line.match(/^\s*(?:[-*•]|\d+[.)])\s+(.*)$/);
      if (bullet) {
        if (!list) { list = { tag: "ul", items: [] }; blocks.push(list); }
        list.items.push(bullet[1]);
        continue;
      }
      list = null;
      if (heading) blocks.push({ tag: "h4", text: heading[1] });
      else if (line.trim()) blocks.push({ tag: "p", text: line });
    }
    if (steps && steps.length) {
      const wanted = new Set(steps.map((s) => s.trim()));
      for (let i = blocks.length - 1; i >= 0; i--) {
        const block = blocks[i];
        if (block.tag === "ul" && block.items.every((item) => wanted.has(item.trim()))) {
          const from = i > 0 && blocks[i - 1].tag === "h4" ? i - 1 : i;
          blocks.splice(from, i - from + 1);
          break;
        }
      }
    }
    text.replaceChildren(...blocks.map((block) => block.tag === "ul"
      ? W.el("ul", {}, ...block.items.map((item) => W.el("li", { text: item })))
      : W.el(block.tag, { text: block.text })));
  }

  function setWaiting(waiting) {
    skeleton.hidden = !waiting;
    if (waiting) {
      draw(""); $("notes-copy").hidden = true; $("notes-next").hidden = true; $("notes-error").hidden = true;
      $("notes-empty").hidden = true; $("notes-meta").textContent = "";
    }
  }

  function showNextSteps(items) {
    nextSteps = items || [];
    const list = $("notes-next-list");
    list.replaceChildren(...nextSteps.map((item, index) => {
      const done = taken.has(current + ":" + index);
      return W.el("li", {},
        W.el("span", { text: item }),
        config.canContribute ? W.el("button", {
          type: "button", class: "add-task" + (done ? " added" : ""), "data-step": index, "data-title": item,
          disabled: done, text: done ? "✓ " + t.added : "+ " + t.addTask,
        }) : null);
    }));
    $("notes-next").hidden = !nextSteps.length;
  }

  /* Which next steps are already tasks: the server keeps the link (notes version + step). */
  async function syncTaken() {
    let items;
    try { items = await W.api(config.api + "/action-items/"); } catch (e) { return; }
    taken.clear();
    items.forEach((item) => { if (item.notes_version) taken.set(item.notes_version + ":" + item.notes_step, item.id); });
    if (nextSteps.length) showNextSteps(nextSteps);
  }

  function showVersion(note) {
    current = note.id;
    card.hidden = false;
    $("notes-empty").hidden = true;
    const index = versions.findIndex((v) => v.id === note.id);
    $("notes-version").textContent = versions.length > 1 ? `${t.version} ${versions.length - index} ${t.of} ${versions.length}` : "";
    const running = note.status !== "completed" && note.status !== "failed";
    if (running && !streaming) setWaiting(true);
    if (note.status === "completed") {
      setWaiting(false);
      draw(note.text, note.next_steps);
      $("notes-copy").hidden = false;
      $("notes-meta").textContent = (note.provider === "offline" ? t.offline : note.provider === "offline-fallback" ? t.fallback : t.ai) + " ";
      $("notes-meta").append(W.feedback("notes", note.id));
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
    else if (!streaming && skeleton.hidden) $("notes-empty").hidden = config.status === "active";
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
  /* Everyone in the room sees the notes being written, not only whoever pressed Resolve. */
  room.on("room.changed", (data) => {
    if (lastStatus === "active" && data.status === "resolved" && !streaming) { card.hidden = false; setWaiting(true); }
    lastStatus = data.status;
  });
  room.on("sync", sync);
  room.on("sync", syncTaken);
  room.on("action_item.changed", syncTaken);

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
      const item = await W.api(config.api + "/action-items/", { method: "POST", json: {
        title: add.dataset.title, source: "notes", notes_version: current, notes_step: Number(add.dataset.step),
      } });
      taken.set(current + ":" + add.dataset.step, item.id);
      add.textContent = "✓ " + t.added;
      add.classList.add("added");
      room.emit("tasks.changed", {});
    } catch (e) { add.disabled = false; W.toast(e.message, "error"); }
  });
  sync().then(syncTaken);
})();
