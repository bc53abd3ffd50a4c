"""One document build in this process, for bench/scenarios/docx.py: prints seconds, memory and size as JSON.

``python -m bench.docx_probe warroom|bare <messages> <images>`` builds the document;
``python -m bench.docx_probe warroom-images|bare-images 0 <images>`` prepares the images only.

Both builds get the same 20 different screenshots (1600x900), already report-ready
(at most 15 cm at 150 dpi, fast PNG), because that is what the assemble stage now gets:
the images are prepared once at upload, in the worker. The preparation itself is the
``*-images`` pair: Warroom's ``incidents.files.report_image`` beside bare Pillow
(open, resize with LANCZOS, PNG at ``compress_level=1``), image by image.

Memory: ``peak_mb`` is the growth of the peak resident set during the build, from the
resident set just before it (what the build itself needed); ``rss_peak_mb`` is the
process's peak resident set, the figure a worker building this document reaches. Both
read ``VmHWM`` from /proc, which starts afresh at exec: ``getrusage``'s ``ru_maxrss``
(used before) keeps the peak of the process that forked this one, so a probe started
from the ~200 MB benchmark process reported that peak, and the bare probe (no Django,
a small resident set before the build) showed it as ~150-170 MB of "growth".
"""

import copy
import io
import json
import os
import sys
import time


def rss_mb():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def rows(messages):
    return [{"time": f"{9 + i // 3600 % 12:02d}:{i // 60 % 60:02d}:{i % 60:02d}",
             "event": f"王小明：檢查 edge-{i % 7} 的連線與佇列，第 {i} 則 status update after restart"}
            for i in range(messages)]


def screenshots(images):
    from bench.seed import png

    return [png(seed=index) for index in range(images)]


def bare_prepare(data):
    from PIL import Image

    max_px = int(15 / 2.54 * 150)
    image = Image.open(io.BytesIO(data))
    image = image.resize((max_px, round(image.height * max_px / image.width)), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def warroom_images(_messages, images):
    _django()
    from incidents.files import report_image

    originals = screenshots(images)
    base = rss_mb()
    started = time.perf_counter()
    prepared = [report_image(data) for data in originals]
    return time.perf_counter() - started, base, sum(len(p.data) for p in prepared)


def bare_images(_messages, images):
    originals = screenshots(images)
    base = rss_mb()
    started = time.perf_counter()
    prepared = [bare_prepare(data) for data in originals]
    return time.perf_counter() - started, base, sum(len(p) for p in prepared)


def warroom(messages, images):
    _django()
    from incidents.files import report_image, report_image_width_cm
    from reports.pipeline.assemble import font_settings, labels_for
    from reports.pipeline.docx_builder import DocumentModel, ImageItem, build_docx
    from reports.prompts import SECTION_KEYS, sections_for

    prepared = [report_image(data) for data in screenshots(images)]
    sections = {k: f"{k} 段落內容。" * 20 for k in SECTION_KEYS}
    sections["timeline"] = rows(messages)
    sections["participants"] = [{"name": f"成員 {i}", "role": "responder", "contribution": "處理"} for i in range(8)]
    model = DocumentModel(
        title="事件報告 Bench", language="zh-hant", metadata=[("事件室", "Bench")] * 10,
        section_titles=sections_for("incident").titles_in("zh-hant"), sections=sections,
        sources={}, notes={}, labels=labels_for("zh-hant"),
        images=[ImageItem(name=f"d{i}.png", data=p.data, caption=f"dashboard {i}",
                          width_cm=report_image_width_cm(p.width)) for i, p in enumerate(prepared)],
        footer="Bench",
    )
    fonts = font_settings()
    base = rss_mb()
    started = time.perf_counter()
    out = build_docx(model, **fonts)
    return time.perf_counter() - started, base, len(out)


def bare(messages, images):
    """python-docx alone: the same table (template row copied, then cell.text) and the same prepared images."""
    from docx import Document
    from docx.shared import Cm
    from docx.table import _Row

    prepared = [bare_prepare(data) for data in screenshots(images)]
    timeline = rows(messages)
    base = rss_mb()
    started = time.perf_counter()
    document = Document()
    document.add_heading("Bench", 0)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "時間", "事件"
    template = table.add_row()._tr
    prepared_row = copy.deepcopy(template)
    table._tbl.remove(template)
    for row in timeline:
        tr = copy.deepcopy(prepared_row)
        table._tbl.append(tr)
        cells = _Row(tr, table).cells  # table.rows[-1] would rebuild the row list each time
        cells[0].text, cells[1].text = row["time"], row["event"]
    for data in prepared:
        document.add_picture(io.BytesIO(data), width=Cm(15))
    out = io.BytesIO()
    document.save(out)
    return time.perf_counter() - started, base, len(out.getvalue())


KINDS = {"warroom": warroom, "bare": bare, "warroom-images": warroom_images, "bare-images": bare_images}

if __name__ == "__main__":
    kind, messages, images = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seconds, base, size = KINDS[kind](messages, images)
    print(json.dumps({"seconds": round(seconds, 3), "peak_mb": round(peak_mb() - base, 1),
                      "rss_peak_mb": round(peak_mb(), 1), "size_mb": round(size / 2**20, 2)}))
