"""Reviewing a room report: versions, a person's edits, one section rewritten by AI, comparing, signing off.

Version 1 is what the workflow wrote (``stages.publish``). Every save makes the
next version with its own .docx, built here without any AI call: the room
snapshot of the collect step, the new content, ``assemble`` and ``docx_builder``.
Two editors never overwrite each other: a save names the version it started
from, and a stale one gets 409 with the latest. A commander (or operator)
finalizes a version: the .docx then carries the approval line; editing a final
report starts a new draft on top of it, and the final version stays as it was.
"""

from __future__ import annotations

import copy
import difflib
import logging
import time

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import Conflict, PermissionDenied, ServiceError
from incidents.models import RoomStatus
from incidents.services import can_contribute, can_manage
from realtime import events as realtime
from reports import events, evidence, indexing, ledger
from reports.lifecycle import text_in
from reports.llm import LLMError, LLMRequest, configured_provider, get_client
from reports.models import Report, ReportKind, ReportState, ReportStatus, ReportStep, ReportVersion, VersionSource
from reports.pipeline.assemble import document_model, font_settings
from reports.pipeline.content import extract_json, validate_sections
from reports.pipeline.docx_builder import build_docx
from reports.pipeline.state import COLLECT, json_safe
from reports.prompts import in_language, sections_for, user_prompt
from reports.snapshot import RoomSnapshot

logger = logging.getLogger(__name__)

REVIEWED_KINDS = (ReportKind.INCIDENT, ReportKind.POSTMORTEM)
MAX_INSTRUCTION_CHARS = 1000

NOT_READY = _("The report is not ready yet.")
NOT_REVIEWED = _("Only incident reports and postmortems are reviewed and signed off.")
ARCHIVED = _("This room is archived; reopen it first.")
OBSERVERS_READ = _("Observers can read the report but not change it.")
ONLY_COMMANDERS = _("Only the incident commander or an operator can finalize a report.")
STALE = _("Someone saved a newer version (%(latest)s) first; reload it and apply your change again.")
ALREADY_FINAL = _("Version %(version)s is already final.")
UNKNOWN_SECTION = _("This report has no section “%(key)s”.")
REWRITE_FAILED = _("The AI could not rewrite the section, so it keeps its text: %(reason)s")
UNUSABLE_ANSWER = _("the AI's answer was not a usable section")


# --- Who may do what ------------------------------------------------------------------------


def _require_reviewable(report: Report) -> None:
    if report.kind not in REVIEWED_KINDS:
        raise Conflict(NOT_REVIEWED, code="not_reviewed")
    if report.status != ReportStatus.COMPLETED or not report.version:
        raise Conflict(NOT_READY, code="not_ready", details={"status": report.status})
    if report.room.status == RoomStatus.ARCHIVED:
        raise Conflict(ARCHIVED, code="archived")


def _require_editor(report: Report, user) -> None:
    if not can_contribute(room=report.room, user=user):
        raise PermissionDenied(OBSERVERS_READ)


# --- Sections -------------------------------------------------------------------------------


def clean_sections(report: Report, sections) -> dict:
    """The sections of a save, checked against the kind's schema (400 names the field that is wrong)."""
    kind = sections_for(report.kind)
    if not isinstance(sections, dict) or not sections:
        raise ServiceError(_("Give the sections to change."), details={"sections": [_("Expected a non-empty object.")]})
    unknown = [key for key in sections if key not in kind.keys]
    if unknown:
        raise ServiceError(UNKNOWN_SECTION % {"key": unknown[0]},
                           details={f"sections.{unknown[0]}": [_("Not a section of this report.")]})
    valid, problems = validate_sections(sections, list(sections), kind.list_fields)
    if problems:
        field = next((key for key in sections if key not in valid), next(iter(sections)))
        raise ServiceError(problems[0], details={f"sections.{field}": problems})
    return json_safe(evidence.keep_known(valid, evidence.citable(snapshot_of(report)), kind.list_fields))


def snapshot_of(report: Report) -> RoomSnapshot:
    return RoomSnapshot.from_dict(ReportStep.objects.get(report=report, key=COLLECT).detail["snapshot"])


def _document(report: Report) -> bytes:
    """The report's .docx as it stands in memory (content, version, approval), with no AI call."""
    return build_docx(document_model(report, snapshot_of(report)), **font_settings())


def _new_version(report: Report, sections: dict, *, source: str, author, ledger_entry: dict | None = None,
                 sources: dict | None = None) -> ReportVersion:
    """Save ``sections`` over the latest content as the next version (the report row is locked by the caller)."""
    content = copy.deepcopy(report.content or {})
    old = content.get("sections") or {}
    changed = [key for key, value in sections.items() if old.get(key) != value]
    content["sections"] = {**old, **sections}
    content["sources"] = {**(content.get("sources") or {}), **(sources or {key: source for key in changed})}
    content["notes"] = {k: v for k, v in (content.get("notes") or {}).items() if k not in changed}
    report.content, report.version = content, report.version + 1
    report.state = ReportState.DRAFT
    data = _document(report)
    version = ReportVersion(report=report, number=report.version, source=source, changed_sections=changed,
                            content=content, author=author, ledger=ledger_entry or {}, document_size=len(data))
    version.document.save(f"v{version.number}.docx", ContentFile(data), save=False)
    version.save()
    Report.objects.filter(pk=report.pk).update(content=content, version=report.version, state=report.state,
                                               document=version.document.name, document_size=len(data))
    report.document.name, report.document_size = version.document.name, len(data)
    events.emit(report, events.report_version(report, version))
    indexing.index_on_commit(report)
    return version


def _locked(report: Report) -> Report:
    # Only the report's own row is locked (of=("self",)): its room and people are read along with it.
    return (Report.objects.select_for_update(of=("self",)).select_related("room", "requested_by", "approved_by")
            .get(pk=report.pk))


@transaction.atomic
def report_edit(*, report: Report, by, base_version, sections) -> ReportVersion:
    """A person's save: only the sections given change; a stale ``base_version`` gets 409 with the latest."""
    report = _locked(report)
    _require_reviewable(report)
    _require_editor(report, by)
    if base_version != report.version:
        raise Conflict(STALE % {"latest": report.version}, code="stale_version",
                       details={"latest_version": report.version})
    return _new_version(report, clean_sections(report, sections), source=VersionSource.EDIT, author=by)


@transaction.atomic
def report_finalize(*, report: Report, by) -> Report:
    """Sign the latest version off: approver and time recorded, the .docx rebuilt with the approval line."""
    report = _locked(report)
    _require_reviewable(report)
    if not can_manage(room=report.room, user=by):
        raise PermissionDenied(ONLY_COMMANDERS)
    if report.state == ReportState.FINAL and report.final_version == report.version:
        raise Conflict(ALREADY_FINAL % {"version": report.version}, code="already_final")
    report.state, report.final_version = ReportState.FINAL, report.version
    report.approved_by, report.approved_at = by, timezone.now()
    data = _document(report)
    version = report.versions.get(number=report.version)
    # The final version keeps its number and content; its document now carries the approval line.
    version.document.save(f"v{version.number}-final.docx", ContentFile(data), save=False)
    version.document_size = len(data)
    version.save(update_fields=["document", "document_size"])
    report.document.name, report.document_size = version.document.name, len(data)
    report.save(update_fields=["state", "final_version", "approved_by", "approved_at", "document", "document_size"])
    events.emit(report, events.report_version(report, version))
    return report


# --- One section rewritten by AI -------------------------------------------------------------


def section_regenerate_request(*, report: Report, key: str, by, instruction: str = "") -> None:
    """Check and queue the rewrite of one section (202); the text streams to the room as it is written."""
    _require_reviewable(report)
    _require_editor(report, by)
    if key not in sections_for(report.kind).keys:
        raise ServiceError(UNKNOWN_SECTION % {"key": key}, code="unknown_section")
    instruction = " ".join(str(instruction or "").split())
    if len(instruction) > MAX_INSTRUCTION_CHARS:
        raise ServiceError(_("Keep the instruction under %(limit)s characters.") % {"limit": MAX_INSTRUCTION_CHARS},
                           details={"instruction": [_("Too long.")]})
    transaction.on_commit(lambda: regenerate_section.delay(str(report.id), key, instruction, by.pk))


def _rewrite_request(report: Report, snapshot: RoomSnapshot, key: str, instruction: str, on_delta) -> LLMRequest:
    kind = sections_for(report.kind)
    current = (report.content or {}).get("sections", {}).get(key)
    with in_language(report.language):
        task = str(_("Rewrite only the section %(key)s. Its current text (JSON):\n%(current)s\n"
                     "What the reviewer asks: %(instruction)s")) % {
            "key": key, "current": current, "instruction": instruction or "—"}
        return LLMRequest(
            system=kind.system_prompt(report.language, [key]),
            prompt=f"{user_prompt(snapshot, report.language, [key], kind.kind)}\n\n{task}",
            language=report.language, sections=[key], snapshot=report_snapshot_dict(report),
            user=f"warroom-report-{report.id}", on_delta=on_delta,
        )


def report_snapshot_dict(report: Report) -> dict:
    return ReportStep.objects.get(report=report, key=COLLECT).detail["snapshot"]


@shared_task(name="reports.regenerate_section", soft_time_limit=300, time_limit=330, acks_late=True)
def regenerate_section(report_id: str, key: str, instruction: str, user_id) -> int | None:
    """Exactly one AI request for ``key``; a new ``section_ai`` version, or the section untouched and the reason told."""
    report = Report.objects.select_related("room").get(id=report_id)
    author = get_user_model().objects.filter(pk=user_id).first()
    provider = configured_provider()

    def stream(piece: str, replace: bool) -> None:
        realtime.publish(report.room_id, events.report_section_delta(report, key=key, delta=piece, replace=replace))

    request = _rewrite_request(report, snapshot_of(report), key, instruction, stream)
    started = time.monotonic()
    try:
        result = get_client(provider).complete(request)
    except LLMError as exc:
        return _rewrite_failed(report, key, exc.user_message, detail=repr(exc))
    kind = sections_for(report.kind)
    valid, problems = validate_sections(extract_json(result.text), [key], kind.list_fields)
    if key not in valid:
        return _rewrite_failed(report, key, UNUSABLE_ANSWER, detail="; ".join(problems))
    entry = ledger.entry(provider=provider, model=result.model, prompt_version=kind.prompt_version(report.language,
                                                                                                  [key]),
                         prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
                         seconds=time.monotonic() - started, price=result.price, currency=result.currency)
    with transaction.atomic():
        report = _locked(report)
        sections = json_safe(evidence.keep_known(valid, evidence.citable(snapshot_of(report)), kind.list_fields))
        version = _new_version(report, sections, source=VersionSource.SECTION_AI, author=author,
                               ledger_entry=entry, sources={key: provider})
    return version.number


def _rewrite_failed(report: Report, key: str, reason, *, detail: str) -> None:
    message = text_in(report.language, REWRITE_FAILED) % {"reason": text_in(report.language, reason)}
    logger.warning("Rewriting section %s of report %s failed: %s", key, report.id, detail)
    events.emit(report, events.report_section_failed(report, key=key, message=message), now=True)
    return None


# --- Comparing two versions -------------------------------------------------------------------


def _text_diff(before: str, after: str) -> list[dict]:
    """Character by character: Chinese has no spaces, so a word diff would mark whole sentences."""
    parts = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            parts.append({"op": "equal", "text": before[a1:a2]})
            continue
        if a2 > a1:
            parts.append({"op": "delete", "text": before[a1:a2]})
        if b2 > b1:
            parts.append({"op": "insert", "text": after[b1:b2]})
    return parts


def _row_key(row: dict, fields: list[str]) -> tuple:
    return tuple(str(row.get(f, "")) for f in fields)


def versions_diff(report: Report, first: int, second: int) -> dict:
    """Per section of the kind: unchanged, or changed with a character diff (prose) or rows added/removed (tables)."""
    found = {v.number: v for v in report.versions.filter(number__in=[first, second])}
    missing = [n for n in (first, second) if n not in found]
    if missing:
        raise ServiceError(_("There is no version %(number)s.") % {"number": missing[0]}, code="no_such_version")
    kind = sections_for(report.kind)
    before = found[first].content.get("sections") or {}
    after = found[second].content.get("sections") or {}
    sections = {}
    for key in kind.keys:
        old, new = before.get(key), after.get(key)
        if old == new:
            sections[key] = {"status": "unchanged"}
        elif key in kind.list_fields:
            fields = kind.list_fields[key]
            old_rows, new_rows = old or [], new or []
            old_keys = {_row_key(r, fields) for r in old_rows}
            new_keys = {_row_key(r, fields) for r in new_rows}
            sections[key] = {"status": "changed",
                             "added": [r for r in new_rows if _row_key(r, fields) not in old_keys],
                             "removed": [r for r in old_rows if _row_key(r, fields) not in new_keys]}
        else:
            sections[key] = {"status": "changed", "diff": _text_diff(str(old or ""), str(new or ""))}
    return {"from": first, "to": second, "sections": sections}
