"""The lexical index of the chunks, one per database (knowledge/search.py reads it).

PostgreSQL: a stored generated tsvector of ``search_text`` (``simple`` configuration: the
text is already cut into words and CJK bigrams) with a GIN index; no extension is needed.
SQLite: an external-content FTS5 table kept in step with the chunks by triggers.
"""

from django.db import migrations

POSTGRES = [
    "ALTER TABLE knowledge_knowledgechunk ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search_text)) STORED",
    "CREATE INDEX knowledge_chunk_search_vector ON knowledge_knowledgechunk USING gin (search_vector)",
]
POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS knowledge_chunk_search_vector",
    "ALTER TABLE knowledge_knowledgechunk DROP COLUMN IF EXISTS search_vector",
]
SQLITE = [
    "CREATE VIRTUAL TABLE knowledge_chunk_fts USING fts5("
    "search_text, content='knowledge_knowledgechunk', content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER knowledge_chunk_fts_insert AFTER INSERT ON knowledge_knowledgechunk BEGIN "
    "INSERT INTO knowledge_chunk_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER knowledge_chunk_fts_delete AFTER DELETE ON knowledge_knowledgechunk BEGIN "
    "INSERT INTO knowledge_chunk_fts(knowledge_chunk_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER knowledge_chunk_fts_update AFTER UPDATE OF search_text ON knowledge_knowledgechunk BEGIN "
    "INSERT INTO knowledge_chunk_fts(knowledge_chunk_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO knowledge_chunk_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS knowledge_chunk_fts_update",
    "DROP TRIGGER IF EXISTS knowledge_chunk_fts_delete",
    "DROP TRIGGER IF EXISTS knowledge_chunk_fts_insert",
    "DROP TABLE IF EXISTS knowledge_chunk_fts",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRES_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
