/* Reports on the room page: generate with live progress, the list, download, retry. */
(function () {
  "use strict";
  const W = window.Warroom, room = window.WarroomRoom, t = window.WARROOM_I18N;
  const config = room.config;
  const $ = (id) => document.getElementById(id);
  const list = $("report-list"), button = $("generate-report"), dialog = $("progress-dialog");
  const STAGES = ["collecting_data", "generating_content", "assembling_document", "completed"];
  const RUNNING = ["pending", "collecting_data", "generating_content", "assembling_document"];
  let reports = [], watching = null, lastEvent = 0, pollTimer = null;

  const providerLabel = (p) => ({ dify: t.ai + " · DIFY", openai: t.ai + " · OpenAI", offline: t.offline, "offline-fallback": t.fallback }[p] || "");
  const kb = (n) => (n ? Math.max(1, Math.round(n / 1024)) + " KB" : "");

  function render() {
    const rows = reports.filter((r) => r.kind === "incident" || r.kind === "postmortem");
    if (!rows.length) { list.replaceChildren(W.el("li", { class: "empty", text: t.noReports })); }
    else list.replaceChildren(...rows.map((r) => {
      const meta = [t[r.kind] || r.kind, r.version ? t.version + " " + r.version + (r.state === "final" ? " · " + t.final : "") : "",
        providerLabel(r.provider),
        r.prompt_tokens + r.completion_tokens ? (r.prompt_tokens + r.completion_tokens).toLocaleString() + " " + t.tokens : "",
        r.cost_label || "",
        r.duration_seconds !== null ? r.duration_seconds + " " + t.seconds : "", kb(r.document_size)].filter(Boolean).join(" · ");
      const actions = W.el("span", { class: "report-actions" },
        r.download_url ? W.el("a", { class: "button", href: r.download_url, text: t.download }) : null,
        r.review_url ? W.el("a", { class: "button review", href: r.review_url, text: t.review }) : null,
        r.status === "failed" ? W.el("button", { type: "button", class: "retry", "data-kind": r.kind, "data-language": r.language, text: t.retry }) : null);
      return W.el("li", { class: "report", "data-id": r.id, "data-status": r.status },
        W.el("div", { class: "report-line" },
          W.el("span", { class: "badge status-" + r.status, text: t["stage_" + r.status] || r.stage }),
          W.el("span", { class: "report-when", text: W.formatTime(r.created_at, config.timeZone, true) }), actions),
        W.el("div", { class: "muted", text: RUNNING.includes(r.status) ? (r.step || t["stage_" + r.status]) + " · " + r.percent + "%" : meta }),
        r.status === "failed" && r.error_message ? W.el("div", { class: "form-error", text: r.error_message }) : null);
    }));
    button.disabled = rows.some((r) => RUNNING.includes(r.status));
  }

  function showProgress(r) {
    if (!watching || r.id !== watching) return;
    const status = r.status;
    const index = STAGES.indexOf(status === "pending" ? "collecting_data" : status);
    // While waiting for a worker nothing runs yet: the first stage is "next", not highlighted as running.
    $("progress-stages").querySelectorAll("li").forEach((li, i) => {
      li.className = status === "completed" || i < index ? "done"
        : i === index && status === "pending" ? "next"
        : i === index && status !== "failed" ? "current" : "";
    });
    $("progress-title").textContent = status === "completed" ? t.progressDone
      : status === "failed" ? t.progressFailed : t.progressTitle;
    $("progress-bar").value = status === "completed" ? 100 : r.percent || 0;
    $("progress-step").textContent = status === "completed" ? t.stage_completed : (r.step || t["stage_" + status] || "\u00a0");
    const error = $("progress-error");
    error.hidden = status !== "failed";
    error.textContent = r.error_message || t.reportFailed;
    const download = $("progress-download");
    download.hidden = !r.download_url;
    if (r.download_url) download.href = r.download_url;
  }

  async function sync() {
    try {
      const page = await W.api(config.api + "/reports");
      reports = Array.isArray(page) ? page : page.results;
    } catch (e) { return; }
    render();
    const current = reports.find((r) => r.id === watching);
    if (current) showProgress(current);
    schedulePoll();
  }

  /* The socket is a hint: while a report runs and no event came lately, read the truth again. */
  function schedulePoll() {
    clearTimeout(pollTimer);
    if (!reports.some((r) => RUNNING.includes(r.status))) return;
    pollTimer = setTimeout(() => { if (Date.now() - lastEvent > 2500) sync(); else schedulePoll(); }, 3000);
  }

  async function generate(kind, language) {
    if (config.status === "active" && !confirm(t.confirmActive)) return;
    button.disabled = true;
    try {
      const started = await W.api(config.api + "/reports/generate", { method: "POST", json: { kind, language } });
      watching = started.report_id;
      showProgress({ id: watching, status: started.status, percent: 0, step: "" });
      dialog.showModal();
      await sync();
    } catch (e) {
      W.toast(e.message, "error");
      button.disabled = false;
    }
  }

  button.addEventListener("click", () => generate($("report-kind").value, $("report-language").value));
  list.addEventListener("click", (event) => {
    const retry = event.target.closest(".retry");
    if (retry) generate(retry.dataset.kind, retry.dataset.language);
  });
  $("progress-close").addEventListener("click", () => dialog.close());

  function upsert(patch) {
    const index = reports.findIndex((r) => r.id === patch.report_id);
    if (index === -1) { sync(); return null; }
    Object.assign(reports[index], patch, { id: patch.report_id });
    render();
    return reports[index];
  }
  room.on("report.progress", (e) => { lastEvent = Date.now(); const r = upsert(e) || { ...e, id: e.report_id }; showProgress(r); schedulePoll(); });
  room.on("report.completed", (e) => {
    lastEvent = Date.now();
    W.toast(t.reportReady, "ok");
    sync();
  });
  room.on("report.failed", (e) => {
    lastEvent = Date.now();
    W.toast(t.reportFailed + (e.error_message ? ": " + e.error_message : ""), "error", 8000);
    sync();
  });
  room.on("sync", sync);
  room.on("room.changed", () => render());
  sync();
})();
