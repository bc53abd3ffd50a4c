"""Search: CJK bigrams and English words find their passage, runbooks outrank noise, weight steers hybrid."""

import uuid

import pytest

from knowledge import search, services
from knowledge.models import DocumentStatus

pytestmark = pytest.mark.django_db

OPTICS = "# 光模塊更換\n\n更換故障的光模塊前，先在交換器上關閉連接埠，換好後確認 link up。\n"
CERTS = "# 憑證更新 Certificate renewal\n\n憑證過期時，用 certbot renew 更新 TLS 憑證，然後 reload nginx。\n"
NOISE = [
    "# 週會紀錄\n\n本週討論了預算、招募與辦公室搬遷，沒有技術議題。\n",
    "# 午餐訂購\n\n週五的午餐改訂便當，請在週四前回覆。\n",
    "# Handshake meeting notes\n\nWe met the vendor for a handshake meeting; the handshake went fine, handshake again next week.\n",
]


@pytest.fixture
def corpus(upload):
    docs = {
        "optics": upload(OPTICS.encode(), "optics.md", title="光模塊更換"),
        "certs": upload(CERTS.encode(), "certs.md", title="憑證更新"),
    }
    for number, text in enumerate(NOISE):
        docs[f"noise{number}"] = upload(text.encode(), f"noise{number}.md", kind="reference")
    assert all(d.status == DocumentStatus.INDEXED for d in docs.values())
    return docs


@pytest.mark.parametrize(("query", "expected"), [("光模", "optics"), ("憑證", "certs"), ("certbot", "certs"), ("CERTIFICATE renewal", "certs")])
def test_a_two_character_cjk_query_and_an_english_query_find_their_passage(corpus, query, expected):
    result = search.search(query, k=5)
    assert result.mode == "lexical"
    assert result.hits, query
    assert result.hits[0].chunk.document_id == corpus[expected].id


def test_the_snippet_marks_the_words_found_and_escapes_the_rest(upload):
    upload("# 告警\n\n當 <script> 出現在憑證欄位時，通知資安。\n".encode(), "a.md")
    [hit] = search.search("憑證").hits
    assert "<mark>憑證</mark>" in hit.snippet
    assert "&lt;script&gt;" in hit.snippet and "<script>" not in hit.snippet


def test_the_runbook_ranks_above_noise_that_shares_a_word(corpus):
    hits = search.search("光模塊 交換器 週會").hits
    assert hits[0].chunk.document_id == corpus["optics"].id


def test_kind_filters_the_results(corpus):
    hits = search.search("handshake 光模", kinds=["reference"]).hits
    assert {h.chunk.document.kind for h in hits} == {"reference"}


def test_nothing_is_found_for_words_no_document_has(corpus):
    assert search.search("kubernetes").hits == []


def test_deleted_documents_are_no_longer_found(corpus, operator):
    from knowledge.services import document_delete

    document_delete(document=corpus["optics"], by=operator)
    assert search.search("光模").hits == []


def test_weight_zero_and_one_change_the_ranking_with_an_embeddings_server(corpus, embeddings_server, upload):
    # Indexed again now that the server is set, so the chunks have vectors.
    tls = upload("# TLS 憑證\n\n憑證過期會讓 TLS 交握失敗；更新憑證即可。\n".encode(), "tls.md")
    meeting = upload(b"# Handshake\n\nHandshake handshake: the TLS vendor meeting agenda, meeting notes and the next meeting.\n", "h.md", kind="reference")
    assert tls.embedding_model == "fake-embed-1" and tls.chunks.get().embedding

    lexical_first = search.search("TLS handshake", k=5, weight=0.0)
    semantic_first = search.search("TLS handshake", k=5, weight=1.0)
    assert lexical_first.mode == semantic_first.mode == "hybrid"
    assert lexical_first.hits[0].chunk.document_id == meeting.id
    assert semantic_first.hits[0].chunk.document_id == tls.id
    # The query itself was embedded by the server, with the key as a bearer token.
    assert embeddings_server.requests[-1]["json"]["input"] == ["TLS handshake"]
    assert embeddings_server.requests[-1]["authorization"] == "Bearer sk-test"


def test_vectors_are_computed_in_batches(settings, embeddings_server, upload):
    settings.EMBEDDINGS_BATCH_SIZE = 2
    text = "\n\n".join(f"# 步驟 {i}\n\n第 {i} 步的說明。" for i in range(5))
    document = upload(text.encode(), "steps.md")
    assert document.chunk_count == 5
    assert [len(r["json"]["input"]) for r in embeddings_server.requests] == [2, 2, 1]


def test_search_falls_back_to_lexical_when_the_embeddings_server_fails(settings, corpus, embeddings_server):
    settings.EMBEDDINGS_MAX_RETRIES = 0
    embeddings_server.script = [500]
    result = search.search("光模", k=3)
    assert result.mode == "lexical" and result.note == "embeddings_unavailable"
    assert result.hits[0].chunk.document_id == corpus["optics"].id


# --- GET /api/knowledge/search ---------------------------------------------------------------

SEARCH_URL = "/api/knowledge/search"


def test_the_search_api_answers_lexical_without_embeddings_and_gives_a_past_incident_its_room(
        api, corpus, room, member, english, django_capture_on_commit_callbacks):
    room.status, room.resolution_summary = "resolved", "更換 core-sw-01 的光模塊後恢復。"
    room.save()
    with django_capture_on_commit_callbacks(execute=True):
        report = services.index_report(room=room, report_id=uuid.uuid4(), kind="incident", title="光模塊故障事件報告",
                                       text="# 處置\n\ncore-sw-01 的光模塊故障，更換光模塊後恢復。")
    api.force_login(member)
    response = api.get(SEARCH_URL, {"q": "光模", "k": 10, "weight": 0.3})
    assert response.status_code == 200
    body = response.json()
    # Without an embeddings server the weight is ignored and the answer says why.
    assert (body["query"], body["mode"], body["weight"]) == ("光模", "lexical", None)
    assert body["note"] == "Semantic search is not configured: results are ranked by their words only."
    by_document = {hit["document_id"]: hit for hit in body["results"]}
    assert set(by_document) == {corpus["optics"].id, report.id}
    past = by_document[report.id]
    assert (past["kind"], past["title"]) == ("incident_report", "光模塊故障事件報告")
    assert past["cite"] == f"kb:{past['chunk_id']}"
    assert "<mark>光模</mark>" in past["snippet"] and past["semantic_score"] is None
    assert past["room"]["id"] == str(room.id) and past["room"]["url"] == f"/rooms/{room.id}/"
    assert past["room"]["status"] == "resolved"
    assert past["room"]["resolution_summary"] == "更換 core-sw-01 的光模塊後恢復。"
    assert by_document[corpus["optics"].id]["room"] is None  # a runbook belongs to no room
    assert body["results"][0]["score"] == 1.0 and all(0 < hit["score"] <= 1 for hit in body["results"])


def test_the_search_api_filters_by_kinds_and_bounds_k(api, corpus, member):
    api.force_login(member)
    body = api.get(SEARCH_URL, {"q": "handshake 光模 憑證", "kind": "runbook", "k": 1}).json()
    assert len(body["results"]) == 1 and body["results"][0]["kind"] == "runbook"
    both = api.get(SEARCH_URL, {"q": "handshake 光模 憑證", "kind": "runbook,reference", "k": 50}).json()
    assert {hit["kind"] for hit in both["results"]} == {"runbook", "reference"}


def test_the_search_api_echoes_the_weight_when_it_is_hybrid(api, corpus, member, embeddings_server):
    api.force_login(member)
    body = api.get(SEARCH_URL, {"q": "光模", "weight": 0.25}).json()
    assert (body["mode"], body["weight"], body["note"]) == ("hybrid", 0.25, "")


@pytest.mark.parametrize(("params", "field"), [
    ({"q": "光模", "k": 0}, "k"),
    ({"q": "光模", "k": 51}, "k"),
    ({"q": "光模", "k": "five"}, "k"),
    ({"q": "光模", "kind": "runbook,playbook"}, "kind"),
    ({"q": "光模", "weight": 1.5}, "weight"),
    ({"q": "光模", "weight": -0.1}, "weight"),
    ({"q": "光模", "weight": "NaN"}, "weight"),
    ({"q": "光模", "weight": "inf"}, "weight"),
    ({"q": ""}, "q"),
    ({"q": "   "}, "q"),
    ({}, "q"),
    ({"q": "x" * 1001}, "q"),
])
def test_the_search_api_refuses_bad_parameters_with_400_and_says_which(api, member, params, field):
    api.force_login(member)
    response = api.get(SEARCH_URL, params)
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["details"], error
