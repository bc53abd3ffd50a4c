/* Action items: a side panel that collapses to a "Tasks (N)" pill without losing what was typed. */
(function () {
  "use strict";
  const W = window.Warroom, room = window.WarroomRoom, t = window.WARROOM_I18N;
  const config = room.config;
  const $ = (id) => document.getElementById(id);
  const card = $("tasks-card"), pill = $("tasks-pill"), list = $("task-list");
  const KEY = "warroom.tasks.collapsed";

  function setCollapsed(collapsed) {
    card.hidden = collapsed;
    pill.hidden = !collapsed;
    try { localStorage.setItem(KEY, collapsed ? "1" : ""); } catch (e) { /* private mode */ }
  }

  function render(items) {
    const open = items.filter((i) => i.status === "open").length;
    $("tasks-count").textContent = open;
    $("tasks-pill-count").textContent = open;
    list.replaceChildren(...items.map((item) => W.el("li", { class: "task " + item.status, "data-id": item.id },
      W.el("input", { type: "checkbox", checked: item.status === "done", disabled: !config.canContribute, ariaLabel: t.done }),
      W.el("span", { class: "task-title", text: item.title }),
      W.el("small", { class: "muted", text: [item.assignee ? item.assignee.name : t.unassigned, item.due_date ? t.due + " " + item.due_date : ""].filter(Boolean).join(" · ") }),
      config.canContribute ? W.el("button", { type: "button", class: "icon delete-task", text: "×", ariaLabel: t.remove }) : null)));
  }

  async function sync() {
    try { render(await W.api(config.api + "/action-items/")); } catch (e) { /* the next event or reconnect retries */ }
  }

  list.addEventListener("change", async (event) => {
    const box = event.target.closest("input[type=checkbox]");
    if (!box) return;
    const id = box.closest("li").dataset.id;
    try { await W.api(`${config.api}/action-items/${id}/`, { method: "PATCH", json: { status: box.checked ? "done" : "open" } }); }
    catch (e) { W.toast(e.message, "error"); }
    sync();
  });
  list.addEventListener("click", async (event) => {
    const del = event.target.closest(".delete-task");
    if (!del) return;
    try { await W.api(`${config.api}/action-items/${del.closest("li").dataset.id}/`, { method: "DELETE" }); }
    catch (e) { W.toast(e.message, "error"); }
    sync();
  });
  const form = $("task-form");
  if (form) form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("task-error");
    error.hidden = true;
    const body = { title: $("task-title").value };
    if ($("task-assignee").value) body.assignee = Number($("task-assignee").value);
    if ($("task-due").value) body.due_date = $("task-due").value;
    try {
      await W.api(config.api + "/action-items/", { method: "POST", json: body });
      $("task-title").value = ""; $("task-due").value = "";
      sync();
    } catch (e) {
      const details = e.body && e.body.error && e.body.error.details;
      error.textContent = details ? Object.values(details).flat().join(" ") : e.message;
      error.hidden = false;
    }
  });
  $("tasks-collapse").addEventListener("click", () => setCollapsed(true));
  pill.addEventListener("click", () => { setCollapsed(false); $("task-title") && $("task-title").focus(); });
  room.on("action_item.changed", sync);
  room.on("tasks.changed", sync);
  room.on("sync", sync);
  let collapsed = false;
  try { collapsed = localStorage.getItem(KEY) === "1"; } catch (e) { /* private mode */ }
  setCollapsed(collapsed);
  sync();
})();
