"""The embedded default's lexical search: SQLite FTS5 over the same CJK bigrams, in a process of its own."""

import json
import os
import subprocess
import sys

from tests.services import ROOT

SCRIPT = r"""
import json
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from accounts.models import User
from knowledge import search, services
from knowledge.models import KnowledgeChunk

operator = User.objects.create_user(username="op", password="x", is_staff=True)
docs = {}
for name, text in [("optics", "# 光模塊更換\n\n先關閉連接埠，再更換光模塊。"),
                   ("certs", "# 憑證 Certificate renewal\n\n憑證過期時執行 certbot renew。"),
                   ("noise", "# 週會\n\n討論預算與招募。")]:
    docs[name] = services.document_upload(uploaded_by=operator, uploaded=SimpleUploadedFile(name + ".md", text.encode())).id
out = {"vendor": connection.vendor}
for query in ["光模", "憑證", "certbot", "Certificate"]:
    hits = search.search(query).hits
    out[query] = [h.chunk.document_id == docs[n] for h in hits for n in ["optics", "certs"]]
    out[query + ":first"] = next((n for n in docs if hits and hits[0].chunk.document_id == docs[n]), None)
    out[query + ":snippet"] = hits[0].snippet if hits else ""
from knowledge.models import KnowledgeDocument
services.document_delete(document=KnowledgeDocument.objects.get(id=docs["optics"]), by=operator)
out["after_delete"] = len(search.search("光模").hits)
print("RESULT" + json.dumps(out, ensure_ascii=False))
"""


def test_sqlite_fts5_finds_cjk_bigrams_and_english_words(tmp_path):
    env = {
        "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
        "WARROOM_VAR_DIR": str(tmp_path), "CELERY_TASK_ALWAYS_EAGER": "true", "WARROOM_EMBEDDED_WORKER": "false",
        "LOG_LEVEL": "WARNING",
    }
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=180)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    run = subprocess.run([sys.executable, "manage.py", "shell", "-c", SCRIPT], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.split("RESULT", 1)[1])
    assert result["vendor"] == "sqlite"
    assert result["光模:first"] == "optics"
    assert result["憑證:first"] == "certs"
    assert result["certbot:first"] == "certs" and result["Certificate:first"] == "certs"
    assert "<mark>憑證</mark>" in result["憑證:snippet"]
    assert result["after_delete"] == 0
