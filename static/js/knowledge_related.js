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
