"""Hybrid search over the chunks: lexical always, semantic when an embeddings server is set.

Lexical: the query is cut into the same words and CJK bigrams as the index (knowledge/text.py)
and any of them matches. PostgreSQL ranks a stored ``simple`` tsvector with ``ts_rank_cd`` for a
short query and ``ts_rank`` for a room's worth of words (both normalised by length); SQLite ranks its FTS5 table with ``bm25()``. Semantic: the query's
vector against the stored chunk vectors by cosine. The two are combined per chunk as
``weight × semantic + (1 − weight) × lexical``, each divided by its best score first.
"""

import logging
from dataclasses import dataclass, field

from django.db import connection, transaction

from knowledge import embeddings
from knowledge.models import DocumentStatus, KnowledgeChunk
from knowledge.text import query_terms, snippet

logger = logging.getLogger(__name__)

LEXICAL_CANDIDATES = 50
LEXICAL_SCAN_LIMIT = 1000
# Up to this many terms (a person's question: a few words, a short Chinese phrase cut into bigrams)
# PostgreSQL ranks by cover density, which rewards the terms standing together. A room's words
# (the Related panel, the context of the report and the notes) are 30-50 terms: cover density
# costs about 27 ms per thousand matches there, term frequency (ts_rank) 3 ms, and proximity
# says little across a whole room's text.
PROXIMITY_TERMS = 12
SEMANTIC_CANDIDATES = 50
DEFAULT_WEIGHT = 0.7


@dataclass
class Hit:
    chunk: KnowledgeChunk
    score: float
    lexical: float = 0.0
    semantic: float | None = None
    snippet: str = ""


@dataclass
class SearchResult:
    query: str
    mode: str  # "hybrid" or "lexical"
    weight: float | None
    hits: list[Hit] = field(default_factory=list)
    note: str = ""


def _filters(kinds, exclude_room_id, alias="d"):
    sql, params = [f"{alias}.status = %s"], [DocumentStatus.INDEXED]
    if kinds:
        sql.append(f"{alias}.kind IN ({', '.join(['%s'] * len(kinds))})")
        params.extend(kinds)
    if exclude_room_id is not None:
        sql.append(f"({alias}.room_id IS NULL OR {alias}.room_id <> %s)")
        params.append(exclude_room_id if connection.vendor == "postgresql" else str(exclude_room_id).replace("-", ""))
    return " AND ".join(sql), params


def _lexical(terms, operator, *, kinds, exclude_room_id, limit) -> dict[int, float]:
    where, params = _filters(kinds, exclude_room_id)
    if connection.vendor == "postgresql":
        # Terms hold only letters, digits, '.', '_' and CJK (knowledge/text.py), never a quote.
        query = f" {operator} ".join(f"'{t}'" for t in terms)
        rank = "ts_rank_cd" if len(terms) <= PROXIMITY_TERMS else "ts_rank"
        # Ranking reads every matching row's vector: a term in most passages (的, 服務) would
        # rank the whole table. Rank at most LEXICAL_SCAN_LIMIT matches; such a term says little.
        sql = (
            f"SELECT m.id, {rank}(m.search_vector, q, 1) AS score FROM ("
            "SELECT c.id, c.search_vector FROM knowledge_knowledgechunk c "
            "JOIN knowledge_knowledgedocument d ON d.id = c.document_id "
            f"WHERE c.search_vector @@ to_tsquery('simple', %s) AND {where} LIMIT %s"
            ") m, to_tsquery('simple', %s) q ORDER BY score DESC, m.id LIMIT %s"
        )
        args = [query, *params, LEXICAL_SCAN_LIMIT, query, limit]
    else:
        query = f" {'AND' if operator == '&' else 'OR'} ".join(f'"{t}"' for t in terms)
        sql = (
            "SELECT c.id, -bm25(knowledge_chunk_fts) AS score FROM knowledge_chunk_fts "
            "JOIN knowledge_knowledgechunk c ON c.id = knowledge_chunk_fts.rowid "
            "JOIN knowledge_knowledgedocument d ON d.id = c.document_id "
            f"WHERE knowledge_chunk_fts MATCH %s AND {where} ORDER BY score DESC, c.id LIMIT %s"
        )
        args = [query, *params, limit]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # With the LIMIT above, the planner prefers reading the table (or another index) in
            # order and testing each row, not knowing that each test unpacks a stored vector:
            # 5x slower than the GIN bitmap for a term in a tenth of 100,000 passages. Only this
            # statement is told to use bitmap scans.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(sql, args)
        rows = cursor.fetchall()
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = DEFAULT")
            cursor.execute("SET LOCAL enable_indexscan = DEFAULT")
    return {row[0]: float(row[1]) for row in rows}


def lexical_scores(terms: list[str], *, kinds=(), exclude_room_id=None, limit=LEXICAL_CANDIDATES, enough=1) -> dict[int, float]:
    """{chunk id: score} of the best ``limit`` chunks for the terms (higher is better).

    Passages holding every term come first (a phrase's bigrams together); when fewer than
    ``enough`` do, any term matches.
    """
    if not terms:
        return {}
    options = {"kinds": kinds, "exclude_room_id": exclude_room_id, "limit": limit}
    if len(terms) > 1:
        every = _lexical(terms, "&", **options)
        if len(every) >= enough:
            return every
    return _lexical(terms, "|", **options)


def semantic_scores(vector: bytes, *, kinds=(), exclude_room_id=None, limit=SEMANTIC_CANDIDATES) -> dict[int, float]:
    """{chunk id: cosine} of the ``limit`` closest chunks embedded by the current model.

    A full scan in Python: fine for tens of thousands of chunks (docs/knowledge.md).
    """
    query = embeddings.unpack(vector)
    chunks = KnowledgeChunk.objects.filter(
        document__status=DocumentStatus.INDEXED, document__embedding_model=embeddings.model_name(), embedding__isnull=False,
    )
    if kinds:
        chunks = chunks.filter(document__kind__in=kinds)
    if exclude_room_id is not None:
        chunks = chunks.exclude(document__room_id=exclude_room_id)
    scored = [
        (chunk_id, embeddings.cosine(query, embeddings.unpack(data)))
        for chunk_id, data in chunks.values_list("id", "embedding").iterator(chunk_size=2000)
    ]
    scored.sort(key=lambda item: item[1], reverse=True)
    return dict(scored[:limit])


def _normalised(scores: dict[int, float]) -> dict[int, float]:
    best = max(scores.values(), default=0.0)
    if best <= 0:
        return {key: 0.0 for key in scores}
    return {key: max(value, 0.0) / best for key, value in scores.items()}


def search(query: str, *, k: int = 5, kinds=(), weight: float = DEFAULT_WEIGHT, exclude_room_id=None) -> SearchResult:
    terms = query_terms(query)
    lexical = lexical_scores(terms, kinds=kinds, exclude_room_id=exclude_room_id, limit=max(LEXICAL_CANDIDATES, k * 5), enough=k)
    semantic: dict[int, float] = {}
    mode, note = "lexical", ""
    if embeddings.enabled() and query.strip():
        try:
            vector = embeddings.pack(embeddings.embed([query])[0])
        except embeddings.EmbeddingsError as exc:
            # Search must answer even with the embeddings server down: lexical, and say so.
            logger.warning("Semantic search skipped: %s", exc)
            note = "embeddings_unavailable"
        else:
            semantic = semantic_scores(vector, kinds=kinds, exclude_room_id=exclude_room_id, limit=max(SEMANTIC_CANDIDATES, k * 5))
            mode = "hybrid"
    if mode == "hybrid":
        lex_n, sem_n = _normalised(lexical), _normalised(semantic)
        combined = {
            chunk_id: weight * sem_n.get(chunk_id, 0.0) + (1 - weight) * lex_n.get(chunk_id, 0.0)
            for chunk_id in set(lexical) | set(semantic)
        }
    else:
        combined = _normalised(lexical) if lexical else {}
    ranked = sorted(combined.items(), key=lambda item: (-item[1], item[0]))[:k]
    chunks = KnowledgeChunk.objects.select_related("document", "document__room").in_bulk([cid for cid, _ in ranked])
    hits = []
    for chunk_id, score in ranked:
        chunk = chunks.get(chunk_id)
        if chunk is None or (score <= 0 and chunk_id not in lexical):
            continue
        hits.append(Hit(
            chunk=chunk, score=round(score, 4), lexical=round(lexical.get(chunk_id, 0.0), 6),
            semantic=round(semantic[chunk_id], 6) if chunk_id in semantic else None,
            snippet=snippet(chunk.text, terms),
        ))
    return SearchResult(query=query, mode=mode, weight=weight if mode == "hybrid" else None, hits=hits, note=note)
