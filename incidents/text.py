"""Cleaning text that people type before it is stored or shown."""

import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath

# C0 controls other than tab, newline and carriage return, plus DEL and the C1 block.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_NONCHARACTERS = re.compile(r"[\ufffe\uffff]")
# Bidi embeddings, overrides and isolates (U+202E makes "exe.txt" read "txt.exe"); the
# plain marks U+200E/U+200F stay, since they cannot reorder what follows them.
_BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def clean_text(value: str) -> str:
    """Drop characters no database or document can hold, and bidi overrides; keep emoji and CJK.

    Lone surrogates (possible from JSON ``\\ud800`` escapes) become U+FFFD so
    nothing the person typed silently vanishes.
    """
    value = _SURROGATE.sub("\ufffd", value)
    value = _NONCHARACTERS.sub("", value)
    value = _BIDI_CONTROLS.sub("", value)
    return _CONTROL.sub("", value)


def clean_line(value: str) -> str:
    """A single-line value (titles, names): cleaned, whitespace folded."""
    return " ".join(clean_text(value).split())


def safe_file_name(name: str, *, limit: int = 255) -> str:
    """The display name of an upload: last path part only, no controls, bounded."""
    name = clean_line(name or "")
    name = PureWindowsPath(PurePosixPath(name).name).name
    name = unicodedata.normalize("NFC", name).strip(". ")
    if not name:
        name = "file"
    if len(name) > limit:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: limit - len(suffix) - 1] + dot + suffix) if dot and len(suffix) < 16 else name[:limit]
    return name
