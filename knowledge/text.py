"""Words of a text for the lexical index: Latin words as they are, CJK as character bigrams.

Traditional Chinese has no spaces, so a word index would see a whole sentence as one
word. Every run of CJK characters is indexed as its overlapping character pairs
(光模塊 -> 光模 模塊) and a query is cut the same way, so a 2-character query finds a
passage that contains it anywhere. Both databases index ``search_text``: PostgreSQL as a
``simple`` tsvector, SQLite as an FTS5 table.
"""

import html
import re
import unicodedata

# CJK ideographs (with extension A and compatibility), kana and hangul: scripts written without spaces.
# A character class body, for the chunker too (knowledge/parsing.py).
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{CJK}]+|[0-9a-z]+(?:[._][0-9a-z]+)*")
_CJK_RUN = re.compile(rf"[{CJK}]+")
MAX_QUERY_TOKENS = 48


def normalise(text: str) -> str:
    # NFKC folds full-width Latin (ＤＮＳ) and digits into ASCII, as people type both.
    return unicodedata.normalize("NFKC", text or "").lower()


def tokens(text: str) -> list[str]:
    """The index terms of ``text``, in order (duplicates kept: they count for ranking)."""
    out = []
    for match in _TOKEN.finditer(normalise(text)):
        word = match.group()
        if _CJK_RUN.fullmatch(word):
            if len(word) == 1:
                out.append(word)
            else:
                out.extend(word[i:i + 2] for i in range(len(word) - 1))
        else:
            # "x509.pem" is indexed whole and in its parts, so either finds it.
            out.append(word)
            parts = re.split(r"[._]", word)
            if len(parts) > 1:
                out.extend(p for p in parts if p)
    return out


def search_text(text: str) -> str:
    return " ".join(tokens(text))


def query_terms(query: str) -> list[str]:
    """The distinct terms of a query, in order, at most MAX_QUERY_TOKENS."""
    seen = []
    for term in tokens(query):
        # A lone Latin letter or digit ("port 1") matches nearly everything and says nothing.
        if len(term) == 1 and not is_cjk(term):
            continue
        if term not in seen:
            seen.append(term)
        if len(seen) >= MAX_QUERY_TOKENS:
            break
    return seen


def is_cjk(char: str) -> bool:
    return bool(_CJK_RUN.fullmatch(char))


def snippet(text: str, terms: list[str], *, width: int = 180) -> str:
    """An HTML-safe excerpt of ``text`` around the first term found, terms wrapped in <mark>."""
    folded = normalise(text)
    # normalise() may change the length (NFKC); fall back to the raw text's own case-folding then.
    if len(folded) != len(text):
        folded = text.lower()
    positions = [folded.find(t) for t in terms if t]
    positions = [p for p in positions if p >= 0]
    start = max(min(positions) - width // 3, 0) if positions else 0
    end = min(start + width, len(text))
    piece, low = text[start:end], folded[start:end]
    spans = []
    for term in sorted(set(terms), key=len, reverse=True):
        for found in re.finditer(re.escape(term), low):
            spans.append((found.start(), found.end()))
    # Merge overlapping spans (bigrams of one phrase overlap) into one mark each.
    merged = []
    for begin, finish in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    out, cursor = [], 0
    for begin, finish in merged:
        out.append(html.escape(piece[cursor:begin]))
        out.append("<mark>" + html.escape(piece[begin:finish]) + "</mark>")
        cursor = finish
    out.append(html.escape(piece[cursor:]))
    body = "".join(out).replace("\n", " ")
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")
