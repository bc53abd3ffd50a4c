/* The Related panel of the room page: past incidents like this one and runbook passages.
   Loaded on open, on demand, and when the room's title or category changes (room.status). */
(function () {
  "use strict";
  const card = document.getElementById("related-card");
  if (!card || !window.Warroom) return;
  const W = window.Warroom;
  const t = card.dataset;
  const incidents = document.getElementById("related-incidents");
  const passages = document.getElementById("related-passages");
  let last = "";

  function snippet(html) {
    // The API escapes the text and marks the words found with <mark>: nothing else is HTML.
    const p = document.createElement("p");
    p.className = "kb-snippet";
    p.innerHTML = html;
    p.querySelectorAll("*:not(mark)").forEach((node) => node.replaceWith(document.createTextNode(node.textContent)));
    return p;
  }

  function item(children) {
    const li = document.createElement("li");
    children.filter(Boolean).forEach((child) => li.appendChild(child));
    return li;
  }

  function empty(list) {
    if (!list.children.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = t.i18nEmpty;
      list.appendChild(li);
    }
  }

  function render(data) {
    incidents.replaceChildren();
    passages.replaceChildren();
    (data.incidents || []).forEach((past) => {
      const link = document.createElement("a");
      link.href = past.room.url;
      link.textContent = past.room.title;
      let resolution = null;
      if (past.room.resolution_summary) {
        resolution = document.createElement("p");
        resolution.className = "muted";
        resolution.textContent = t.i18nResolution + ": " + past.room.resolution_summary;
      }
      incidents.appendChild(item([link, resolution, past.snippet ? snippet(past.snippet) : null]));
    });
    (data.passages || []).forEach((hit) => {
      const title = document.createElement("strong");
      title.textContent = hit.title + (hit.heading ? " › " + hit.heading : "");
      title.title = hit.cite;
      passages.appendChild(item([title, snippet(hit.snippet)]));
    });
    empty(incidents);
    empty(passages);
  }

  async function load() {
    try {
      render(await W.api(card.dataset.url));
    } catch (error) {
      W.toast(t.i18nFailed, "error");
    }
  }

  document.getElementById("related-refresh").addEventListener("click", load);
  const room = window.WarroomRoom;
  if (room) {
    room.on("room.status", (event) => {
      const key = event.title + "|" + event.category;
      if (key !== last) { last = key; load(); }
    });
    // A document of this room (its report) was indexed: what is related may have changed.
    room.on("knowledge.progress", (event) => { if (event.status === "indexed") load(); });
  }
  load();
})();

/* The room assistant: ask, then the answer streams in over the room socket (to the asker only).
   Citations [m123] open the message on the timeline; [kb:45] are shown as chips. */
(function () {
  "use strict";
  const card = document.getElementById("assistant-card");
  if (!card || !window.Warroom) return;
  const W = window.Warroom, room = window.WarroomRoom;
  const list = document.getElementById("assistant-answers");
  const form = document.getElementById("assistant-form");
  const items = {};

  function withChips(text) {
    const box = document.createElement("div");
    box.className = "kb-answer";
    text.split(/(\[m\d+\]|\[kb:\d+\])/).forEach((part) => {
      const cite = part.match(/^\[(m(\d+)|kb:(\d+))\]$/);
      if (!cite) { box.appendChild(document.createTextNode(part)); return; }
      const chip = document.createElement("a");
      chip.className = "chip cite";
      chip.textContent = cite[1];
      if (cite[2]) {
        chip.href = "#m" + cite[2];
        // The room page finds the message, fetching it with its neighbours when it is far back.
        chip.addEventListener("click", (e) => {
          if (!window.WarroomRoom || !window.WarroomRoom.jumpTo) return;
          e.preventDefault();
          window.WarroomRoom.jumpTo(cite[2]);
        });
      } else {
        chip.href = "/knowledge/passages/" + cite[3] + "/";
      }
      box.appendChild(chip);
    });
    return box;
  }

  function entry(question) {
    let li = items[question.id];
    if (!li) {
      li = document.createElement("li");
      li.dataset.id = question.id;
      const q = document.createElement("p");
      q.className = "kb-question";
      q.textContent = question.question;
      li.appendChild(q);
      li.answer = li.appendChild(document.createElement("div"));
      li.text = "";
      items[question.id] = li;
      list.appendChild(li);
    }
    return li;
  }

  function show(li, text) {
    const box = withChips(text);
    li.replaceChild(box, li.answer);
    li.answer = box;
  }

  /* An answered question gets 👍/👎 (once; a re-read after reconnect keeps the buttons). */
  function rateable(li) {
    if (li.querySelector(".feedback")) return;
    li.appendChild(W.feedback("answer", li.dataset.id));
  }

  async function sync() {
    try {
      const questions = await W.api(card.dataset.url);
      questions.forEach((q) => {
        const li = entry(q);
        if (q.status === "answered") { show(li, q.answer); rateable(li); }
        else if (q.status === "failed") show(li, q.error_message || card.dataset.i18nFailed);
      });
    } catch (e) { /* the next (re)connect syncs again */ }
  }

  if (room) {
    room.on("assistant.delta", (event) => {
      const li = items[event.question_id] || entry({ id: event.question_id, question: "" });
      li.text += event.delta;
      show(li, li.text);
    });
    room.on("assistant.done", (event) => {
      const li = items[event.question_id] || entry({ id: event.question_id, question: "" });
      show(li, event.status === "answered" ? event.answer : (event.error_message || card.dataset.i18nFailed));
      if (event.status === "answered") rateable(li);
    });
    room.on("sync", sync);
  }
  if (form) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const input = document.getElementById("assistant-question");
      try {
        const question = await W.api(card.dataset.url, { method: "POST", json: { question: input.value } });
        entry(question);
        input.value = "";
      } catch (error) { W.toast(error.message, "error"); }
    });
  }
  sync();
})();
