/* Reviewing a report: edit sections, rewrite one with AI, see versions and their differences, finalize. */
(function () {
  "use strict";
  const W = window.Warroom, t = window.WARROOM_I18N;
  const config = JSON.parse(document.getElementById("review-config").textContent);
  const $ = (id) => document.getElementById(id);
  const box = $("review-sections");
  let report = null, dirty = new Set();

  const fmt = (template, values) => template.replace(/%\((\w+)\)s/g, (_, name) => values[name]);

  function show(id, text) {
    const node = $(id);
    node.hidden = !text;
    node.textContent = text || "";
  }

  /* [m123] marks as chips that open the message on the room page. */
  function chip(id) {
    return W.el("a", { class: "chip citation", href: config.roomUrl + "#m" + id, "data-message": id,
                       title: t.message + " " + id, text: "m" + id });
  }

  /* [kb:45] marks as chips that open the knowledge passage. */
  function passageChip(id) {
    return W.el("a", { class: "chip citation passage", href: "/knowledge/passages/" + id + "/", "data-passage": id,
                       title: t.passage + " " + id, text: "kb:" + id });
  }

  function citations(ids, text) {
    const passages = [...new Set([...String(text || "").matchAll(/\[kb:(\d+)\]/g)].map((m) => m[1]))];
    if ((!ids || !ids.length) && !passages.length) return null;
    return W.el("p", { class: "citations" }, W.el("span", { class: "muted", text: t.evidence + " " }),
      ...(ids || []).map(chip), ...passages.map(passageChip));
  }

  function proseEditor(section, value) {
    const area = W.el("textarea", { class: "section-text", rows: 6, "data-key": section.key,
                                    "aria-label": section.title, disabled: !config.canEdit });
    area.value = value || "";
    area.addEventListener("input", () => dirty.add(section.key));
    return area;
  }

  function rowEditor(section, row) {
    const tr = W.el("tr");
    for (const field of section.fields) {
      const input = W.el("input", { type: "text", "data-field": field, "aria-label": config.fieldLabels[field] || field,
                                    disabled: !config.canEdit });
      input.value = row[field] || "";
      input.addEventListener("input", () => dirty.add(section.key));
      tr.append(W.el("td", {}, input));
    }
    tr.dataset.evidence = JSON.stringify(row.evidence || []);
    if (section.cited) tr.append(W.el("td", { class: "row-evidence" }, ...(row.evidence || []).map(chip)));
    if (config.canEdit) {
      const remove = W.el("button", { type: "button", class: "link remove-row", text: "✕", title: t.removeRow,
                                      "aria-label": t.removeRow });
      remove.addEventListener("click", () => { tr.remove(); dirty.add(section.key); });
      tr.append(W.el("td", {}, remove));
    }
    return tr;
  }

  function tableEditor(section, rows) {
    const head = W.el("tr", {}, ...section.fields.map((f) => W.el("th", { text: config.fieldLabels[f] || f })),
                      section.cited ? W.el("th", { text: t.evidence }) : null, config.canEdit ? W.el("th") : null);
    const body = W.el("tbody", { "data-key": section.key }, ...(rows || []).map((row) => rowEditor(section, row)));
    const table = W.el("table", { class: "section-rows" }, W.el("thead", {}, head), body);
    const wrap = W.el("div", { class: "table-scroll" }, table);
    if (config.canEdit) {
      const add = W.el("button", { type: "button", class: "add-row", text: "+ " + t.addRow });
      add.addEventListener("click", () => {
        body.append(rowEditor(section, {}));
        dirty.add(section.key);
        body.lastElementChild.querySelector("input").focus();
      });
      wrap.append(add);
    }
    return wrap;
  }

  function rewriteControls(section) {
    if (!config.canEdit) return null;
    const instruction = W.el("input", { type: "text", class: "instruction", placeholder: t.instruction,
                                        "aria-label": t.instruction, maxLength: 1000 });
    const button = W.el("button", { type: "button", class: "rewrite", text: t.regenerate, "data-key": section.key });
    button.addEventListener("click", async () => {
      button.disabled = true;
      setPreview(section.key, t.writing);
      try {
        await W.api(`${config.api}/sections/${section.key}/regenerate`, { method: "POST", json: { instruction: instruction.value } });
      } catch (error) {
        button.disabled = false;
        setPreview(section.key, "");
        show("review-error", error.message);
      }
    });
    return W.el("div", { class: "rewrite-controls" }, instruction, button);
  }

  function setPreview(key, text, append) {
    const node = box.querySelector(`.section[data-key="${key}"] .preview`);
    if (!node) return;
    node.textContent = append ? node.textContent + text : text;
    node.hidden = !node.textContent;
  }

  function render() {
    const sections = (report.content && report.content.sections) || {};
    box.replaceChildren(...config.sections.map((section) => {
      const value = sections[section.key];
      const editor = section.fields ? tableEditor(section, value) : proseEditor(section, value);
      return W.el("section", { class: "card section", "data-key": section.key },
        W.el("h2", { text: section.title }), editor,
        section.fields ? null : citations((report.citations || {})[section.key], value),
        W.el("pre", { class: "preview", hidden: true }), rewriteControls(section));
    }));
    $("review-version").textContent = report.version;
    const state = $("review-state");
    state.textContent = report.state === "final" ? t.final : t.draft;
    state.className = "badge state-" + report.state;
    $("review-download").href = report.download_url;
    dirty = new Set();
  }

  function collect() {
    const sections = {};
    for (const key of dirty) {
      const section = config.sections.find((s) => s.key === key);
      if (section.fields) {
        sections[key] = [...box.querySelectorAll(`tbody[data-key="${key}"] tr`)].map((tr) => {
          const row = { evidence: JSON.parse(tr.dataset.evidence || "[]") };
          tr.querySelectorAll("input[data-field]").forEach((input) => { row[input.dataset.field] = input.value; });
          return row;
        });
      } else {
        sections[key] = box.querySelector(`textarea[data-key="${key}"]`).value;
      }
    }
    return sections;
  }

  async function save() {
    show("review-error", ""); show("review-notice", "");
    if (!dirty.size) { show("review-notice", t.noChanges); return; }
    const button = $("review-save");
    button.disabled = true;
    button.textContent = t.saving;
    try {
      const version = await W.api(`${config.api}/content`, { method: "PATCH", json: { base_version: report.version, sections: collect() } });
      await load();
      show("review-notice", fmt(t.saved, { number: version.number }));
    } catch (error) {
      show("review-error", error.status === 409 && error.body && error.body.error.code === "stale_version" ? t.conflict : error.message);
    } finally {
      button.disabled = false;
      button.textContent = t.save;
    }
  }

  async function finalize() {
    if (!window.confirm(t.confirmFinalize)) return;
    show("review-error", "");
    try {
      await W.api(`${config.api}/finalize`, { method: "POST" });
      await load();
      show("review-notice", t.finalized);
    } catch (error) {
      show("review-error", error.message);
    }
  }

  const titleOf = (key) => (config.sections.find((s) => s.key === key) || { title: key }).title;

  function renderVersions(versions) {
    $("review-versions").replaceChildren(...versions.map((v) => W.el("li", { "data-number": v.number },
      W.el("a", { href: v.download_url, text: t.version + " " + v.number }),
      W.el("span", { class: "muted", text: " · " + (t["source_" + v.source] || v.source) +
        (v.author ? " · " + v.author.name : "") + (v.changed_sections.length ? " · " + v.changed_sections.map(titleOf).join("、") : "") +
        (v.ledger_label ? " · " + v.ledger_label : "") }),
      // What the AI wrote gets 👍/👎; a person's edit is not the AI's output.
      v.source !== "edit" ? W.feedback("report_version", v.id) : null)));
    for (const [id, pick] of [["compare-from", 1], ["compare-to", 0]]) {
      const select = $(id), keep = select.value;
      select.replaceChildren(...versions.map((v) => W.el("option", { value: v.number, text: t.version + " " + v.number })));
      select.value = keep && versions.some((v) => String(v.number) === keep) ? keep
        : String((versions[Math.min(pick, versions.length - 1)] || {}).number || "");
    }
  }

  function diffPart(part) {
    return W.el(part.op === "insert" ? "ins" : part.op === "delete" ? "del" : "span", { text: part.text });
  }

  function rowText(row, fields) {
    return fields.map((f) => row[f]).filter(Boolean).join(" · ");
  }

  async function compare() {
    const from = $("compare-from").value, to = $("compare-to").value;
    try {
      const diff = await W.api(`${config.api}/diff?from=${from}&to=${to}`);
      $("review-diff").replaceChildren(...config.sections.map((section) => {
        const entry = diff.sections[section.key];
        const title = W.el("h3", {}, section.title + " ",
          W.el("span", { class: "badge diff-" + entry.status, text: t[entry.status] }));
        if (entry.status === "unchanged") return W.el("div", { class: "diff-section" }, title);
        if (entry.diff) return W.el("div", { class: "diff-section" }, title, W.el("p", { class: "diff-text" }, ...entry.diff.map(diffPart)));
        return W.el("div", { class: "diff-section" }, title, W.el("ul", {},
          ...entry.added.map((r) => W.el("li", { class: "row-added", text: "+ " + rowText(r, section.fields) })),
          ...entry.removed.map((r) => W.el("li", { class: "row-removed", text: "− " + rowText(r, section.fields) }))));
      }));
    } catch (error) {
      show("review-error", error.message);
    }
  }

  async function load() {
    const [detail, versions] = await Promise.all([W.api(config.api), W.api(`${config.api}/versions`)]);
    report = detail;
    render();
    renderVersions(versions);
  }

  function onEvent(event) {
    if (event.report_id !== config.reportId) return;
    if (event.type === "report.section.delta") setPreview(event.key, event.delta, !event.replace);
    else if (event.type === "report.section.failed") {
      setPreview(event.key, "");
      show("review-error", event.message);
      load();
    } else if (event.type === "report.version" && event.version !== (report && report.version)) {
      if (!dirty.size) load();
      show("review-notice", fmt(t.newVersion, { number: event.version }));
    }
  }

  if ($("review-save")) $("review-save").addEventListener("click", save);
  if ($("review-finalize")) $("review-finalize").addEventListener("click", finalize);
  $("compare-run").addEventListener("click", compare);
  W.liveRoom(config.socket, { onEvent, onSync: () => report && !dirty.size && load() });
  load().catch((error) => show("review-error", error.message));
})();
