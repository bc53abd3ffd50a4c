/* The room's Alerts panel: firing/resolved, labels, counts, links, Acknowledge; live on alert.changed. */
(function () {
  "use strict";
  const W = window.Warroom, room = window.WarroomRoom;
  const card = document.getElementById("alerts-card");
  if (!card || !room) return;
  const config = room.config, list = document.getElementById("alert-list"), d = card.dataset;
  const t = { firing: d.i18nFiring, resolved: d.i18nResolved, ack: d.i18nAck, acked: d.i18nAcked, times: d.i18nTimes,
              first: d.i18nFirst, last: d.i18nLast, source: d.i18nSource, dashboard: d.i18nDashboard };

  /* Only http(s) becomes a link; anything else (javascript:, data:, ...) is shown as text. */
  function link(url, label) {
    if (!url) return null;
    let parsed = null;
    try { parsed = new URL(url); } catch (e) { parsed = null; }
    if (parsed && (parsed.protocol === "http:" || parsed.protocol === "https:")) {
      return W.el("a", { href: parsed.href, target: "_blank", rel: "noopener noreferrer", text: label, class: "alert-link" });
    }
    return W.el("span", { class: "alert-link-text muted", text: label + ": " + url });
  }

  function when(iso) { return iso ? W.formatTime(iso, config.timeZone, true) : "—"; }

  function render(alerts) {
    card.hidden = alerts.length === 0;
    document.getElementById("alerts-firing-count").textContent = alerts.filter((a) => a.status === "firing").length;
    list.replaceChildren(...alerts.map((a) => {
      const chips = Object.entries(a.labels || {}).map(([k, v]) => W.el("span", { class: "chip", text: k + "=" + v }));
      const ack = a.acknowledged_by
        ? W.el("small", { class: "muted alert-acked", text: t.acked + " " + a.acknowledged_by.name })
        : (config.canContribute && a.status === "firing"
          ? W.el("button", { type: "button", class: "ack-alert", "data-id": a.id, text: t.ack }) : null);
      return W.el("li", { class: "alert-item", "data-id": a.id, "data-status": a.status },
        W.el("div", { class: "alert-head" },
          W.el("span", { class: "badge status-" + a.status, text: t[a.status] || a.status }),
          W.el("span", { class: "badge sev-" + a.severity, text: (a.severity || "").toUpperCase() }),
          W.el("strong", { class: "alert-title", text: a.title })),
        W.el("div", { class: "alert-labels" }, ...chips),
        W.el("small", { class: "muted alert-counts",
          text: a.occurrences + " " + t.times + " · " + t.first + " " + when(a.first_seen) + " · " + t.last + " " + when(a.last_seen) }),
        W.el("div", { class: "alert-links" }, link(a.generator_url, t.source), link(a.dashboard_url, t.dashboard)),
        ack);
    }));
  }

  async function sync() {
    try { render(await W.api(card.dataset.url)); } catch (e) { /* the next event or reconnect retries */ }
  }

  list.addEventListener("click", async (event) => {
    const button = event.target.closest(".ack-alert");
    if (!button) return;
    button.disabled = true;
    try { await W.api(`${card.dataset.url}/${button.dataset.id}/ack`, { method: "POST" }); }
    catch (e) { W.toast(e.message, "error"); }
    sync();
  });
  room.on("alert.changed", sync);
  room.on("sync", sync);
  sync();
})();
