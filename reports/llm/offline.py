"""The offline writer: all six sections from the room data alone, with no network.

It is the default where no AI is configured and the fallback when the AI
fails. It says plainly that no AI was used.
"""

from __future__ import annotations

import json

from reports.llm.base import LLMClient, LLMRequest, LLMResult
from reports.pipeline.collect import RoomSnapshot
from reports.prompts import SECTION_KEYS, local, normalize_language

# Timeline rows the offline writer keeps at most (status and system events first).
MAX_TIMELINE_ROWS = 40

TEXT = {
    "zh-hant": {
        "no_ai": "（本報告由系統依事件室資料自動整理，未使用 AI。）",
        "summary": "「{title}」為 {severity} 等級事件{category}，於 {opened} 開始{resolved}，歷時 {duration}。"
                   "事件室共有 {members} 位成員、{messages} 則訊息{files}。",
        "category": "（類別：{category}）",
        "resolved": "，於 {resolved} 結案",
        "files": "、{count} 個附件",
        "description": "事件描述：{description}",
        "contribution": "發言 {count} 則",
        "first_said": "；首則發言：「{text}」",
        "no_messages": "未在事件室發言",
        "process": "事件室於 {start} 至 {end} 間共記錄 {messages} 則訊息，主要處理紀錄如下：",
        "older": "較早的 {count} 則訊息（{start} 至 {end}）已摘要，其中 {events} 則為狀態或系統事件。",
        "status_resolved": "事件已於 {resolved} 結案，目前狀態：{status}。",
        "status_active": "事件仍在處理中（目前狀態：{status}），本報告涵蓋至 {now} 為止的紀錄。",
        "final": "結案摘要：{summary}",
        "final_missing": "事件室未記錄結案摘要。",
        "final_active": "事件尚未結案，最終處置結果待定。",
        "minutes": "{h} 小時 {m} 分鐘", "minutes_only": "{m} 分鐘",
        "system": "系統",
    },
    "en": {
        "no_ai": "(This report was compiled automatically from the room's data; no AI was used.)",
        "summary": "\"{title}\" is a {severity} incident{category}, opened {opened}{resolved}, lasting {duration}. "
                   "The room has {members} members, {messages} messages{files}.",
        "category": " (category: {category})",
        "resolved": " and resolved {resolved}",
        "files": " and {count} files",
        "description": "Description: {description}",
        "contribution": "{count} messages",
        "first_said": "; first said: \"{text}\"",
        "no_messages": "did not post in the room",
        "process": "The room recorded {messages} messages between {start} and {end}. The main entries:",
        "older": "The older {count} messages ({start} to {end}) are summarised; {events} of them were status or "
                 "system events.",
        "status_resolved": "The incident was resolved {resolved}; status: {status}.",
        "status_active": "The incident is still being worked (status: {status}); this report covers the record "
                         "up to {now}.",
        "final": "Resolution summary: {summary}",
        "final_missing": "The room recorded no resolution summary.",
        "final_active": "The incident is not resolved yet; the final resolution is still open.",
        "minutes": "{h} h {m} min", "minutes_only": "{m} min",
        "system": "system",
    },
}


def _duration(snapshot: RoomSnapshot, text: dict) -> str:
    end = snapshot.room.resolved_at or snapshot.collected_at
    minutes = max(int((end - snapshot.room.created_at).total_seconds() // 60), 0)
    if minutes >= 60:
        return text["minutes"].format(h=minutes // 60, m=minutes % 60)
    return text["minutes_only"].format(m=minutes)


def _clip(value: str, length: int = 120) -> str:
    value = " ".join(value.split())
    return value if len(value) <= length else value[: length - 1] + "…"


def write_offline(snapshot: RoomSnapshot, language: str, keys: list[str] | None = None) -> dict:
    """The sections, as the dict an AI writer would answer with."""
    language = normalize_language(language)
    text = TEXT[language]
    keys = keys or SECTION_KEYS
    room = snapshot.room
    lines = snapshot.messages
    sections: dict = {}

    if "summary" in keys:
        summary = text["summary"].format(
            title=room.title, severity=room.severity.upper(),
            category=text["category"].format(category=room.category) if room.category else "",
            opened=local(room.created_at),
            resolved=text["resolved"].format(resolved=local(room.resolved_at)) if room.resolved_at else "",
            duration=_duration(snapshot, text), members=len(snapshot.members), messages=snapshot.total_messages,
            files=text["files"].format(count=len(snapshot.files)) if snapshot.files else "",
        )
        parts = [text["no_ai"], summary]
        if room.description:
            parts.append(text["description"].format(description=room.description))
        sections["summary"] = "\n".join(parts)

    if "timeline" in keys:
        events = [m for m in lines if m.kind != "text"]
        talk = [m for m in lines if m.kind == "text"]
        budget = max(MAX_TIMELINE_ROWS - len(events), 0)
        if talk and budget:
            step = max(len(talk) / budget, 1)
            picked = {int(i * step) for i in range(min(budget, len(talk)))} | {len(talk) - 1}
            events += [talk[i] for i in sorted(picked)]
        older = snapshot.condensed.events if snapshot.condensed else []
        rows = sorted(older[-10:] + events[-MAX_TIMELINE_ROWS:], key=lambda m: m.time)
        sections["timeline"] = [
            {"time": local(m.time), "event": _clip(f"{m.sender}：{m.body}" if m.sender and language == "zh-hant"
                                                   else f"{m.sender}: {m.body}" if m.sender else m.body)}
            for m in rows
        ]

    if "participants" in keys:
        first_said = {}
        for m in lines:
            if m.kind == "text" and m.sender and m.sender not in first_said:
                first_said[m.sender] = m.body
        participants = []
        for member in snapshot.members:
            if member.message_count:
                contribution = text["contribution"].format(count=member.message_count)
                if member.name in first_said:
                    contribution += text["first_said"].format(text=_clip(first_said[member.name], 60))
            else:
                contribution = text["no_messages"]
            participants.append({"name": member.name, "role": member.role_label, "contribution": contribution})
        sections["participants"] = participants

    if "resolution_process" in keys:
        talk = [m for m in lines if m.kind == "text"]
        parts = []
        if snapshot.condensed:
            c = snapshot.condensed
            parts.append(text["older"].format(count=c.message_count, start=local(c.start), end=local(c.end),
                                              events=len(c.events)))
        parts.append(text["process"].format(messages=snapshot.total_messages, start=local(lines[0].time),
                                            end=local(lines[-1].time)))
        step = max(len(talk) / 12, 1)
        for i in sorted({int(i * step) for i in range(min(12, len(talk)))}):
            m = talk[i]
            parts.append(f"• {local(m.time, with_date=False)} {m.sender}：{_clip(m.body, 160)}" if language == "zh-hant"
                         else f"• {local(m.time, with_date=False)} {m.sender}: {_clip(m.body, 160)}")
        sections["resolution_process"] = "\n".join(parts)

    if "current_status" in keys:
        if room.resolved_at:
            sections["current_status"] = text["status_resolved"].format(resolved=local(room.resolved_at),
                                                                         status=room.status_label)
        else:
            sections["current_status"] = text["status_active"].format(status=room.status_label,
                                                                      now=local(snapshot.collected_at))

    if "final_resolution" in keys:
        if room.resolution_summary:
            sections["final_resolution"] = text["final"].format(summary=room.resolution_summary)
        elif room.resolved_at:
            sections["final_resolution"] = text["final_missing"]
        else:
            sections["final_resolution"] = text["final_active"]
    return sections


class OfflineClient(LLMClient):
    name = "offline"

    def complete(self, request: LLMRequest) -> LLMResult:
        snapshot = RoomSnapshot.from_dict(request.snapshot)
        sections = write_offline(snapshot, request.language, request.sections or None)
        text = json.dumps(sections, ensure_ascii=False)
        return LLMResult(text=text, provider=self.name, raw=text)
