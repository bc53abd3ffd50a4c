"""The offline writer: all six sections from the room data alone, with no network.

It is the default where no AI is configured and the fallback when the AI
fails. It says plainly that no AI was used. It writes the sections of either
kind (the keys say which): the incident report's, and the postmortem's, where
it states facts from the room and leaves judgement (the root cause) to people.
"""

from __future__ import annotations

import json

from django.conf import settings

from reports.llm.base import LLMClient, LLMRequest, LLMResult
from reports.pipeline.collect import RoomSnapshot
from reports.prompts import local, normalize_language, section_keys_for

# Timeline rows the offline writer keeps at most (status and system events first).
MAX_TIMELINE_ROWS = 40
# A postmortem counts a first response within this many minutes as quick.
QUICK_RESPONSE_MINUTES = 15
# Messages quoted as hints of the root cause.
ROOT_CAUSE_HINTS = 3

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
        # postmortem
        "impact": "「{title}」為 {severity} 等級事件{category}，自 {opened} 起{until}，影響持續約 {duration}。",
        "until_resolved": "至 {resolved} 結案", "until_active": "，至 {now} 仍在處理中",
        "impact_scope": "事件室資料沒有記錄受影響的使用者、系統範圍或數量，請負責人補充。",
        "root_unknown": "無法僅從事件室資料判定根本原因，需由負責人確認後補充。資料中可能相關的線索如下：",
        "root_resolution": "結案摘要：「{summary}」",
        "root_last": "最後幾則討論：",
        "root_nothing": "事件室沒有結案摘要，也沒有可引用的討論訊息。",
        "observed": "以下為依事件室資料整理的客觀觀察，未使用 AI 判斷。",
        "quick": "事件開啟後 {minutes} 分鐘即有第一則回應（{name}，{time}）。",
        "slow": "第一則回應在事件開啟後 {minutes} 分鐘才出現（{name}，{time}）。",
        "silent": "事件室沒有任何討論訊息。",
        "responders": "共 {count} 位成員參與討論（事件室共 {members} 位成員）。",
        "one_responder": "只有 1 位成員在事件室發言，處理集中在單一人員身上。",
        "summary_kept": "結案時記錄了結案摘要。",
        "summary_missing": "結案時沒有記錄結案摘要，事後難以追溯處置方式。",
        "files_kept": "事件室留下 {count} 個附件（其中 {images} 張圖片）作為佐證。",
        "no_files": "事件室沒有附件或截圖，缺少佐證資料。",
        "items_kept": "事件室已建立 {count} 項行動項目（{done} 項已完成）。",
        "no_items": "事件室沒有建立任何行動項目。",
        "short": "事件在 {duration} 內結案。",
        "long": "事件持續 {duration}，超過 {threshold} 分鐘的事後檢討門檻。",
        "nothing_well": "資料中沒有可確認的正面觀察。",
        "nothing_badly": "資料中沒有可確認的問題，請處理人員補充。",
        "item_done": "（已完成）", "unassigned": "待指派", "no_due": "未定",
        "item_placeholder": "確認根本原因並訂定改善行動項目（事件室未記錄行動項目）", "placeholder_due": "待定",
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
        # postmortem
        "impact": "\"{title}\" was a {severity} incident{category} from {opened}{until}; the impact lasted about "
                  "{duration}.",
        "until_resolved": " until it was resolved {resolved}", "until_active": " and was still being worked at {now}",
        "impact_scope": "The room's data does not record which users or systems were affected, or how many; "
                        "the owner should add this.",
        "root_unknown": "The root cause cannot be determined from the room's data alone; the owner should confirm "
                        "and add it. What the data offers as hints:",
        "root_resolution": "Resolution summary: \"{summary}\"",
        "root_last": "The last messages:",
        "root_nothing": "The room has no resolution summary and no discussion to quote.",
        "observed": "Factual observations from the room's data; no AI was used to judge them.",
        "quick": "The first response came {minutes} min after the room opened ({name}, {time}).",
        "slow": "The first response came only {minutes} min after the room opened ({name}, {time}).",
        "silent": "The room has no discussion messages.",
        "responders": "{count} members took part in the discussion (of {members} in the room).",
        "one_responder": "Only one member posted in the room; the work rested on one person.",
        "summary_kept": "A resolution summary was recorded at resolve.",
        "summary_missing": "No resolution summary was recorded at resolve, so the fix is hard to trace later.",
        "files_kept": "Files kept in the room as evidence: {count} ({images} of them images).",
        "no_files": "The room has no files or screenshots as evidence.",
        "items_kept": "Action items recorded in the room: {count} ({done} done).",
        "no_items": "No action items were recorded in the room.",
        "short": "The incident was resolved within {duration}.",
        "long": "The incident lasted {duration}, over the {threshold} min postmortem threshold.",
        "nothing_well": "The data shows nothing that can be confirmed as having gone well.",
        "nothing_badly": "The data shows no problem that can be confirmed; the responders should add what they saw.",
        "item_done": " (done)", "unassigned": "to be assigned", "no_due": "not set",
        "item_placeholder": "Confirm the root cause and agree action items (the room recorded none)",
        "placeholder_due": "to be set",
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


def _said(m, language: str) -> str:
    return f"{m.sender}：{m.body}" if m.sender and language == "zh-hant" else f"{m.sender}: {m.body}" if m.sender \
        else m.body


def write_offline(snapshot: RoomSnapshot, language: str, keys: list[str] | None = None,
                  kind: str = "incident") -> dict:
    """The sections (``keys``, default all six of ``kind``), as the dict an AI writer would answer with."""
    language = normalize_language(language)
    text = TEXT[language]
    keys = keys or section_keys_for(kind)
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
        sections["timeline"] = [{"time": local(m.time), "event": _clip(_said(m, language))} for m in rows]

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
    sections.update(_postmortem(snapshot, language, keys, text))
    return sections


def _postmortem(snapshot: RoomSnapshot, language: str, keys: list[str], text: dict) -> dict:
    """The postmortem's own sections (its timeline is the incident report's)."""
    room = snapshot.room
    sections: dict = {}
    talk = [m for m in snapshot.messages if m.kind == "text"]

    if "impact" in keys:
        until = text["until_resolved"].format(resolved=local(room.resolved_at)) if room.resolved_at \
            else text["until_active"].format(now=local(snapshot.collected_at))
        parts = [text["no_ai"], text["impact"].format(
            title=room.title, severity=room.severity.upper(),
            category=text["category"].format(category=room.category) if room.category else "",
            opened=local(room.created_at), until=until, duration=_duration(snapshot, text),
        )]
        if room.description:
            parts.append(text["description"].format(description=room.description))
        parts.append(text["impact_scope"])
        sections["impact"] = "\n".join(parts)

    if "root_cause" in keys:
        parts = [text["root_unknown"]]
        if room.resolution_summary:
            parts.append(text["root_resolution"].format(summary=room.resolution_summary))
        if talk:
            parts.append(text["root_last"])
            parts += [f"• {local(m.time, with_date=False)} {_clip(_said(m, language), 160)}"
                      for m in talk[-ROOT_CAUSE_HINTS:]]
        if len(parts) == 1:
            parts.append(text["root_nothing"])
        sections["root_cause"] = "\n".join(parts)

    if "went_well" in keys or "went_badly" in keys:
        well, badly = _observations(snapshot, text, talk)
        if "went_well" in keys:
            sections["went_well"] = "\n".join([text["observed"], *(f"• {o}" for o in well or [text["nothing_well"]])])
        if "went_badly" in keys:
            sections["went_badly"] = "\n".join(
                [text["observed"], *(f"• {o}" for o in badly or [text["nothing_badly"]])])

    if "action_items" in keys:
        rows = [
            {"action": item.title + (text["item_done"] if item.status == "done" else ""),
             "owner": item.assignee or text["unassigned"], "due": item.due_date or text["no_due"]}
            for item in snapshot.action_items
        ]
        sections["action_items"] = rows or [
            {"action": text["item_placeholder"], "owner": text["unassigned"], "due": text["placeholder_due"]}]
    return sections


def _observations(snapshot: RoomSnapshot, text: dict, talk: list) -> tuple[list[str], list[str]]:
    """Countable facts about the response, sorted into what went well and what went badly."""
    room = snapshot.room
    well: list[str] = []
    badly: list[str] = []
    # The first message from someone other than the person who opened the room (anyone's when only they spoke).
    # A condensed timeline no longer says who spoke first, so it gives no first response.
    if not snapshot.condensed:
        first = next((m for m in talk if m.sender and m.sender != room.created_by), talk[0] if talk else None)
        if first is None:
            badly.append(text["silent"])
        else:
            minutes = max(int((first.time - room.created_at).total_seconds() // 60), 0)
            line = text["quick" if minutes <= QUICK_RESPONSE_MINUTES else "slow"].format(
                minutes=minutes, name=first.sender or text["system"], time=local(first.time))
            (well if minutes <= QUICK_RESPONSE_MINUTES else badly).append(line)
    speakers = sum(1 for member in snapshot.members if member.message_count)
    if speakers >= 2:
        well.append(text["responders"].format(count=speakers, members=len(snapshot.members)))
    elif speakers == 1:
        badly.append(text["one_responder"])
    end = room.resolved_at or snapshot.collected_at
    threshold = settings.POSTMORTEM_MIN_MINUTES
    if (end - room.created_at).total_seconds() > threshold * 60:
        badly.append(text["long"].format(duration=_duration(snapshot, text), threshold=threshold))
    elif room.resolved_at:
        well.append(text["short"].format(duration=_duration(snapshot, text)))
    if room.resolution_summary:
        well.append(text["summary_kept"])
    elif room.resolved_at:
        badly.append(text["summary_missing"])
    if snapshot.files:
        well.append(text["files_kept"].format(count=len(snapshot.files),
                                              images=sum(1 for f in snapshot.files if f.is_image)))
    else:
        badly.append(text["no_files"])
    if snapshot.action_items:
        well.append(text["items_kept"].format(count=len(snapshot.action_items),
                                              done=sum(1 for i in snapshot.action_items if i.status == "done")))
    else:
        badly.append(text["no_items"])
    return well, badly


class OfflineClient(LLMClient):
    name = "offline"

    def complete(self, request: LLMRequest) -> LLMResult:
        snapshot = RoomSnapshot.from_dict(request.snapshot)
        sections = write_offline(snapshot, request.language, request.sections or None)
        text = json.dumps(sections, ensure_ascii=False)
        return LLMResult(text=text, provider=self.name, raw=text)
