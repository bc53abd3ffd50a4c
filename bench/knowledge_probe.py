"""Knowledge figures on the configured database (not part of the tests, not a timed test).

``DATABASE_URL=postgres://... python -m bench.knowledge_probe [chunks]`` migrates that database,
fills it with ``chunks`` synthetic Traditional Chinese + English chunks (default 100,000:
5,000 built here, the rest copied from them in SQL),
then prints as JSON: lexical search p50/p95 over 200 queries (2-character CJK, English
words, and a room-sized query), and the index throughput of a 300-page PDF (chunks/s).
Use a database of its own: the probe leaves its rows behind.
"""

import json
import os
import random
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("WARROOM_EMBEDDED_WORKER", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

# A vocabulary of 6,000 Chinese and 2,000 English words drawn with Zipf weights (1/rank), as
# words are in real text: a few are in most passages, most are rare. The 36 incident words lead.
_ZH_COMMON = ("光模塊 交換器 連接埠 憑證 過期 資料庫 連線 逾時 佇列 郵件 閘道 延遲 備援 線路 告警 記憶體 磁碟 "
              "負載 平衡 防火牆 路由 封包 遺失 重新 啟動 更新 設定 檢查 日誌 監控 服務 中斷 恢復 升級").split()
_EN_COMMON = ("dns resolver certificate tls nginx postgres timeout queue mail gateway latency failover link alert "
              "memory disk load balancer firewall route packet loss restart update config check log monitor").split()
_rng = random.Random(7)
_CHARS = [chr(0x4E00 + i) for i in _rng.sample(range(6000), 3000)]
WORDS_ZH = _ZH_COMMON + ["".join(_rng.choices(_CHARS, k=_rng.choice((2, 2, 3)))) for _ in range(6000)]
WORDS_EN = _EN_COMMON + [f"{_rng.choice(_EN_COMMON)}{n}" for n in range(2000)]
_ZIPF_ZH = [1 / (rank + 1) for rank in range(len(WORDS_ZH))]
_ZIPF_EN = [1 / (rank + 1) for rank in range(len(WORDS_EN))]


def sentence(rng):
    zh = "".join(rng.choices(WORDS_ZH, weights=_ZIPF_ZH, k=rng.randint(6, 14)))
    en = " ".join(rng.choices(WORDS_EN, weights=_ZIPF_EN, k=rng.randint(3, 8)))
    return f"{zh}，{en}。"


SEED_CHUNKS = 5000


def _replicate(count):
    """Past the seed, copy the seed passages into new documents in SQL: much faster than building rows in Python."""
    from knowledge.models import KnowledgeChunk, KnowledgeDocument

    KnowledgeDocument.objects.filter(title__endswith=" copy").update(title="bench copied")
    have = KnowledgeChunk.objects.count()
    while have < count:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO knowledge_knowledgedocument (title, kind, tags, file, file_key, original_name, format, size, "
                "status, progress, error_message, error_detail, chunk_count, embedding_model, uploaded_by_id, uploaded_at) "
                "SELECT title || ' copy', kind, tags, file, gen_random_uuid(), original_name, format, size, status, progress, "
                "error_message, error_detail, chunk_count, embedding_model, uploaded_by_id, now() "
                "FROM knowledge_knowledgedocument WHERE title LIKE 'bench %%' AND title <> 'bench copied' AND title NOT LIKE '%%copy' "
                "ORDER BY id RETURNING id"
            )
            new_ids = [row[0] for row in cursor.fetchall()]
            seeds = list(KnowledgeDocument.objects.filter(title__startswith="bench ").exclude(title="bench copied")
                         .exclude(title__endswith=" copy").order_by("id").values_list("id", flat=True))
            for seed, new in zip(seeds, new_ids, strict=True):
                cursor.execute(
                    "INSERT INTO knowledge_knowledgechunk (document_id, ordinal, heading, text, search_text) "
                    "SELECT %s, ordinal, heading, text, search_text FROM knowledge_knowledgechunk WHERE document_id = %s",
                    [new, seed],
                )
        have = KnowledgeChunk.objects.count()
        KnowledgeDocument.objects.filter(title__endswith="copy").update(title="bench copied")
    return have


def fill(count):
    from accounts.models import User
    from knowledge.models import DocumentFormat, DocumentStatus, KnowledgeChunk, KnowledgeDocument
    from knowledge.text import search_text

    have = KnowledgeChunk.objects.count()
    if have >= count:
        return have
    rng = random.Random(16)
    user, _ = User.objects.get_or_create(username="bench-kb", defaults={"is_staff": True})
    per_doc = 50
    started = time.perf_counter()
    while have < min(count, SEED_CHUNKS):
        document = KnowledgeDocument.objects.create(
            title=f"bench {have}", kind="runbook", format=DocumentFormat.MARKDOWN, status=DocumentStatus.INDEXED,
            uploaded_by=user, chunk_count=per_doc, progress=100,
        )
        rows = []
        for ordinal in range(per_doc):
            text = " ".join(sentence(rng) for _ in range(8))
            rows.append(KnowledgeChunk(document=document, ordinal=ordinal, heading="步驟", text=text,
                                       search_text=search_text(text)))
        KnowledgeChunk.objects.bulk_create(rows)
        have += per_doc
    if connection.vendor == "postgresql" and have < count:
        have = _replicate(count)
    print(f"filled {have} chunks in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return have


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def lexical(queries):
    from knowledge import search

    timings = []
    for query in queries:
        started = time.perf_counter()
        search.search(query, k=5)
        timings.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(timings), 1), "p95_ms": round(percentile(timings, 0.95), 1), "queries": len(queries)}


def bare_lexical(queries):
    """The same queries as one plain PostgreSQL full-text statement each (the bare baseline): any term, ranked, top 5."""
    from knowledge.text import query_terms

    timings = []
    with connection.cursor() as cursor:
        for query in queries:
            tsquery = " | ".join(f"'{t}'" for t in query_terms(query))
            started = time.perf_counter()
            cursor.execute(
                "SELECT id FROM knowledge_knowledgechunk WHERE search_vector @@ to_tsquery('simple', %s) "
                "ORDER BY ts_rank_cd(search_vector, to_tsquery('simple', %s), 1) DESC LIMIT 5", [tsquery, tsquery])
            cursor.fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(timings), 1), "p95_ms": round(percentile(timings, 0.95), 1), "queries": len(queries)}


def pdf_throughput():
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.models import User
    from knowledge import indexing, services
    from knowledge.models import KnowledgeDocument
    from tests.knowledge.documents import pdf_bytes

    rng = random.Random(300)
    pages = [[sentence(rng)[:40] for _ in range(40)] for _ in range(300)]
    data = pdf_bytes(pages)
    user = User.objects.get(username="bench-kb")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    from config.celery import app

    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"
    document = services.document_upload(uploaded_by=user, uploaded=SimpleUploadedFile("big.pdf", data), title="300 pages")
    KnowledgeDocument.objects.filter(id=document.id).update(status="uploaded")
    started = time.perf_counter()
    indexing.document_index(document_id=document.id)
    seconds = time.perf_counter() - started
    document.refresh_from_db()
    return {"pages": 300, "bytes": len(data), "chunks": document.chunk_count, "seconds": round(seconds, 2),
            "chunks_per_s": round(document.chunk_count / seconds, 1), "status": document.status}


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    call_command("migrate", verbosity=0)
    total = fill(count)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE knowledge_knowledgechunk")
            cursor.execute("ANALYZE knowledge_knowledgedocument")
    rng = random.Random(5)
    # Queries follow the same Zipf weights: the common words (in most passages) are asked most.
    two_char = [w[:2] for w in rng.choices(WORDS_ZH, weights=_ZIPF_ZH, k=80)]
    english = [" ".join(rng.choices(WORDS_EN, weights=_ZIPF_EN, k=2)) for _ in range(80)]
    room = ["光模塊故障 交換器 連接埠錯誤計數上升 core-sw-02 link down 更換光模塊" for _ in range(40)]
    figures = {"vendor": connection.vendor, "chunks": total,
               "lexical_2char_cjk": lexical(two_char), "lexical_english": lexical(english),
               "lexical_room_query": lexical(room)}
    if connection.vendor == "postgresql":
        figures["bare_2char_cjk"] = bare_lexical(two_char)
        figures["bare_english"] = bare_lexical(english)
    figures["pdf_300_pages"] = pdf_throughput()
    print(json.dumps(figures, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
