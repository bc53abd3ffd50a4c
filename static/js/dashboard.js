/* Statistics dashboard: /api/stats/ drawn with the vendored Chart.js. */
(function () {
  "use strict";
  const W = window.Warroom, t = window.WARROOM_I18N;
  const charts = {};
  const palette = ["#2f5bea", "#1f8a4c", "#c0362c", "#b7791f", "#7c3aed", "#0e7490", "#be185d", "#4b5563"];
  const minutes = (s) => (s === null ? "–" : Math.round(s / 60) + " " + t.min);

  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    // The box sets the height (CSS); the chart fills its card at any width.
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false }, config.options);
    charts[id] = new Chart(document.getElementById(id), config);
  }

  /* What AI cost per month (the AI ledger of every report version). */
  async function loadLedger() {
    const body = document.querySelector("#ai-months tbody");
    try {
      const data = await W.api("/api/reports/ledger?months=6");
      body.replaceChildren(...data.months.map((m) => W.el("tr", {},
        W.el("td", { text: m.month }), W.el("td", { text: m.versions.toLocaleString() }),
        W.el("td", { text: m.tokens.toLocaleString() }), W.el("td", { text: m.label || "–" }))));
    } catch (e) {
      body.replaceChildren(W.el("tr", {}, W.el("td", { colSpan: 4, class: "form-error", text: e.message })));
    }
  }
  loadLedger();

  /* How people rate the AI's outputs (👍/👎 on report versions, notes and assistant answers). */
  async function loadQuality() {
    const body = document.querySelector("#ai-quality tbody");
    try {
      const data = await W.api("/api/feedback/quality?days=30");
      if (!data.rows.length) {
        body.replaceChildren(W.el("tr", {}, W.el("td", { colSpan: 5, class: "muted", text: t.no_ratings })));
        return;
      }
      body.replaceChildren(...data.rows.map((r) => W.el("tr", {},
        W.el("td", { text: r.target_label }), W.el("td", {}, W.el("code", { text: r.prompt_version || "–" })),
        W.el("td", { text: r.up.toLocaleString() }), W.el("td", { text: r.down.toLocaleString() }),
        W.el("td", { text: Math.round(r.up_share * 100) + "%" }))));
    } catch (e) {
      body.replaceChildren(W.el("tr", {}, W.el("td", { colSpan: 5, class: "form-error", text: e.message })));
    }
  }
  loadQuality();

  async function load(range) {
    const error = document.getElementById("stats-error");
    try {
      const s = await W.api("/api/stats/?range=" + range);
      error.hidden = true;
      document.getElementById("kpi-opened").textContent = s.opened;
      document.getElementById("kpi-resolved").textContent = s.resolved;
      document.getElementById("kpi-rate").textContent = s.resolution_rate === null ? "–" : Math.round(s.resolution_rate * 100) + "%";
      document.getElementById("kpi-mttr").textContent = [s.mttr_seconds.mean, s.mttr_seconds.p50, s.mttr_seconds.p90].map(minutes).join(" / ");
      document.getElementById("kpi-stale").textContent = s.open_over_24h.count;
      draw("chart-daily", {
        type: "bar",
        data: {
          labels: s.daily.map((d) => d.date.slice(5)),
          datasets: [
            { label: t.opened, data: s.daily.map((d) => d.opened), backgroundColor: "#c0362c" },
            { label: t.resolved, data: s.daily.map((d) => d.resolved), backgroundColor: "#1f8a4c" },
          ],
        },
        options: { animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
      draw("chart-category", {
        type: "bar",
        data: { labels: s.by_category.map((c) => c.category || t.none), datasets: [{ label: t.incidents, data: s.by_category.map((c) => c.count), backgroundColor: palette }] },
        options: { animation: false, indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
      draw("chart-severity", {
        type: "doughnut",
        data: { labels: s.by_severity.map((c) => c.severity.toUpperCase()), datasets: [{ data: s.by_severity.map((c) => c.count), backgroundColor: ["#a4201a", "#d97706", "#ca8a04", "#2563eb"] }] },
        options: { animation: false },
      });
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  }

  document.getElementById("ranges").addEventListener("click", (event) => {
    const button = event.target.closest("[data-range]");
    if (!button) return;
    document.querySelectorAll("#ranges .chip").forEach((b) => b.classList.toggle("on", b === button));
    load(button.dataset.range);
  });
  load("7d");
})();
