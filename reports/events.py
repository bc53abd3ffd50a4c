"""The live events of reports and ticket notes: the payload of each, declared once (docs/events.md).

:func:`emit` is how the report workflow sends them: after commit, to the room,
and to this thread's progress listeners (the ``generate_report`` command draws
its progress bar from them).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from realtime import events as realtime
from realtime.events import Event, event

logger = logging.getLogger(__name__)


@event("report.progress", "A report moved on: its status, the step being worked on and how far it is (percent).")
def report_progress(report) -> dict:
    return {"report_id": str(report.id), "status": report.status, "step": report.step, "percent": report.percent}


@event("report.completed", "A report is ready: its download URL and the writer that wrote it.")
def report_completed(report) -> dict:
    return {
        "report_id": str(report.id), "status": report.status, "percent": 100,
        "download_url": report.download_url, "provider": report.provider,
    }


@event("report.failed", "A report ended without a document; ``error_message`` says why, for people.")
def report_failed(report) -> dict:
    return {"report_id": str(report.id), "status": report.status, "error_message": report.error_message}


@event("report.version", "A new version of a report was saved (an edit, a rewritten section) or a version was finalized.")
def report_version(report, version) -> dict:
    return {
        "report_id": str(report.id), "version": version.number, "source": version.source,
        "changed_sections": version.changed_sections, "state": report.state, "download_url": version.download_url,
        "author": version.author.label if version.author_id else None,
    }


@event("report.section.delta", "A piece of one section being rewritten by AI; ``replace`` replaces the text so far.")
def report_section_delta(report, *, key: str, delta: str, replace: bool) -> dict:
    return {"report_id": str(report.id), "key": key, "delta": delta, "replace": replace}


@event("report.section.failed", "A section could not be rewritten; it keeps its text and ``message`` says why.")
def report_section_failed(report, *, key: str, message: str) -> dict:
    return {"report_id": str(report.id), "key": key, "message": message}


@event("notes.delta", "A piece of the ticket notes being written; ``replace`` means the text so far is replaced.")
def notes_delta(report, *, delta: str, replace: bool) -> dict:
    return {"report_id": str(report.id), "delta": delta, "replace": replace}


@event("notes.done", "The ticket notes are written: the whole text, the writer and the next steps.")
def notes_done(report) -> dict:
    content = report.content or {}
    return {"report_id": str(report.id), "text": content.get("text", ""), "provider": report.provider,
            "next_steps": content.get("next_steps", [])}


@event("notes.failed", "The ticket notes could not be written; ``message`` says why, for people.")
def notes_failed(report) -> dict:
    return {"report_id": str(report.id), "message": report.error_message}


# --- Sending ------------------------------------------------------------------------------

_listeners = threading.local()


def add_progress_listener(callback: Callable[[Event], None]) -> None:
    """Also call ``callback(event)`` for the events this thread emits (the terminal command's bar)."""
    if not hasattr(_listeners, "items"):
        _listeners.items = []
    _listeners.items.append(callback)


def remove_progress_listener(callback) -> None:
    if hasattr(_listeners, "items") and callback in _listeners.items:
        _listeners.items.remove(callback)


def emit(report, built: Event, *, now: bool = False) -> None:
    """Send ``built`` to the report's room (after commit, or ``now``) and to this thread's listeners."""
    for callback in list(getattr(_listeners, "items", [])):
        try:
            callback(built)
        except Exception:  # noqa: BLE001 - a display must never break the pipeline
            logger.exception("Progress listener failed")
    if report.room_id:
        (realtime.publish if now else realtime.publish_on_commit)(report.room_id, built)
