/* The knowledge page's document list: a document being indexed shows its progress without a reload.
   While any listed document is uploaded or parsing, each such row reads GET /api/knowledge/documents/{id}/
   every 1.5 s and updates its state, progress, passages and error; polling stops when none is in flight.
   (The page has no WebSocket: knowledge.progress is sent to rooms, and most documents belong to none.) */
(function () {
  "use strict";
  const table = document.getElementById("kb-documents");
  if (!table || !window.Warroom) return;
  const W = window.Warroom;
  const t = table.dataset;
  const IN_FLIGHT = ["uploaded", "parsing"];
  const EVERY_MS = 1500;
  let timer = null;
  let stopped = false;

  function inFlight() {
    return Array.from(table.querySelectorAll("tr[data-document-id]")).filter((row) => IN_FLIGHT.includes(row.dataset.status));
  }

  function render(row, doc) {
    const was = row.dataset.status;
    row.dataset.status = doc.status;
    const parts = [W.el("span", { class: "badge kb-" + doc.status, text: doc.status_label })];
    if (IN_FLIGHT.includes(doc.status)) {
      parts.push(" ", W.el("progress", { class: "kb-progress", max: 100, value: doc.progress, ariaLabel: t.i18nProgress }),
        " ", W.el("span", { class: "kb-percent", text: doc.progress + "%" }));
    }
    if (doc.error_message) parts.push(" ", W.el("span", { class: "muted", text: doc.error_message }));
    row.querySelector(".kb-status").replaceChildren(...parts);
    row.querySelector(".kb-chunks").textContent = String(doc.chunk_count);
    if (IN_FLIGHT.includes(was) && doc.status === "indexed") W.toast(W.format(t.i18nIndexed, { title: doc.title }));
    if (IN_FLIGHT.includes(was) && doc.status === "failed") W.toast(W.format(t.i18nFailed, { title: doc.title }), "error");
  }

  async function follow(row) {
    try {
      render(row, await W.api(t.url + encodeURIComponent(row.dataset.documentId) + "/"));
    } catch (error) {
      if (error.status === 404) {
        // Deleted meanwhile (by its uploader or an operator): nothing left to follow.
        row.remove();
      } else if (error.status === 401 || error.status === 403) {
        // Logged out in another tab: asking again every 1.5 s would only fail again.
        stopped = true;
      }
      // Anything else (a restart, the network) is asked again next round.
    }
  }

  function schedule() {
    if (!stopped && timer === null && inFlight().length) timer = setTimeout(poll, EVERY_MS);
  }

  async function poll() {
    // One request per document in flight, all at once; the next round starts after the slowest.
    await Promise.all(inFlight().map(follow));
    timer = null;
    schedule();
  }

  schedule();
})();
