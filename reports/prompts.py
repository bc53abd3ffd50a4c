"""What the AI writers are told: the system prompt, the sections' JSON schema, and the room data.

Traditional Chinese is the default report language; English is available.
Every writer answers with one JSON object holding the six sections of the
report's kind (``sections_for(kind)``: the incident report's or the
postmortem's); the content stage extracts, validates and (once) repairs it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from reports.pipeline.collect import RoomSnapshot

TAIPEI = ZoneInfo("Asia/Taipei")
LANGUAGES = ("zh-hant", "en")

SECTION_KEYS = ["summary", "timeline", "participants", "resolution_process", "current_status", "final_resolution"]
LIST_SECTIONS = {"timeline": ["time", "event"], "participants": ["name", "role", "contribution"]}

SECTION_TITLES = {
    "zh-hant": {
        "summary": "事件摘要",
        "timeline": "時間軸",
        "participants": "參與人員",
        "resolution_process": "處理過程",
        "current_status": "目前狀態",
        "final_resolution": "最終處置結果",
    },
    "en": {
        "summary": "Summary",
        "timeline": "Timeline",
        "participants": "Participants",
        "resolution_process": "Resolution process",
        "current_status": "Current status",
        "final_resolution": "Final resolution",
    },
}


def normalize_language(language: str | None) -> str:
    value = (language or "").strip().lower().replace("_", "-")
    if value in ("en", "en-us", "en-gb", "english"):
        return "en"
    return "zh-hant"


def section_title(key: str, language: str, kind: str = "incident") -> str:
    return sections_for(kind).title(key, language)


def json_schema(keys: list[str] | None = None) -> dict:
    """The JSON schema of the answer (all six sections unless ``keys`` names fewer)."""
    keys = keys or SECTION_KEYS
    properties = {
        "summary": {"type": "string", "description": "事件摘要 summary"},
        "timeline": {
            "type": "array", "description": "時間軸 timeline",
            "items": {"type": "object", "required": ["time", "event"],
                      "properties": {"time": {"type": "string"}, "event": {"type": "string"}}},
        },
        "participants": {
            "type": "array", "description": "參與人員 participants",
            "items": {"type": "object", "required": ["name", "role", "contribution"],
                      "properties": {"name": {"type": "string"}, "role": {"type": "string"},
                                     "contribution": {"type": "string"}}},
        },
        "resolution_process": {"type": "string", "description": "處理過程 resolution process"},
        "current_status": {"type": "string", "description": "目前狀態 current status"},
        "final_resolution": {"type": "string", "description": "最終處置結果 final resolution"},
    }
    return {"type": "object", "required": list(keys), "properties": {k: properties[k] for k in keys},
            "additionalProperties": False}


EXAMPLE = {
    "zh-hant": {
        "summary": "3 月 5 日 14:30 起，臺北總部郵件伺服器外寄佇列暴增，約 2 小時內外寄信件延遲；原因為 DNS 設定錯誤，已修正並恢復。",
        "timeline": [
            {"time": "14:30", "event": "監控告警：外寄佇列超過 5,000 封"},
            {"time": "15:10", "event": "修正 DNS resolver 設定，佇列開始下降"},
        ],
        "participants": [
            {"name": "陳愛麗", "role": "指揮官", "contribution": "協調處理、對外公告"},
            {"name": "王小明", "role": "處理人員", "contribution": "找出 DNS 設定錯誤並清空佇列"},
        ],
        "resolution_process": "先暫停批次寄送以止血，接著查出 DNS 設定錯誤並修正，再分批清空佇列。",
        "current_status": "服務已恢復正常，已新增佇列長度告警。",
        "final_resolution": "修正 DNS 設定並清空佇列；後續追蹤變更單 CHG-2291。",
    },
    "en": {
        "summary": "From 14:30 on 5 March the mail gateway's outbound queue grew quickly and outbound mail was delayed "
                   "for about two hours; a wrong DNS resolver was the cause and it was fixed.",
        "timeline": [
            {"time": "14:30", "event": "Alert: outbound queue above 5,000 messages"},
            {"time": "15:10", "event": "DNS resolver fixed; the queue started to fall"},
        ],
        "participants": [
            {"name": "Alice Chen", "role": "Commander", "contribution": "Coordinated the response and updates"},
            {"name": "Bob Wang", "role": "Responder", "contribution": "Found the DNS fault and drained the queue"},
        ],
        "resolution_process": "The batch sender was paused, the DNS fault found and fixed, and the queue drained.",
        "current_status": "Service is back to normal; a queue-length alert was added.",
        "final_resolution": "DNS fixed and queue drained; follow-up in change CHG-2291.",
    },
}

SYSTEM_PROMPT = {
    "zh-hant": (
        "你是資深的資安與維運事件報告撰寫者。請依據使用者提供的事件室資料，以繁體中文（臺灣用語）撰寫正式的事件報告。\n"
        "規則：\n"
        "1. 只根據提供的資料撰寫，不要杜撰資料中沒有的事實、人名、數字或時間；資料不足時請明確說明。\n"
        "2. 時間一律使用資料中的臺北時間（Asia/Taipei），格式如「2026-03-05 14:30」或「14:30」。\n"
        "3. 只輸出一個 JSON 物件，不要加上任何說明文字或 Markdown 程式碼區塊。\n"
        "4. JSON 必須符合下列 JSON Schema：\n{schema}\n"
        "5. 範例（格式示意，內容請依實際資料撰寫）：\n{example}\n"
    ),
    "en": (
        "You are a senior writer of security and operations incident reports. Write a formal incident report in "
        "English from the incident room data the user gives you.\n"
        "Rules:\n"
        "1. Use only the data given; never invent facts, names, numbers or times. Say so where the data is thin.\n"
        "2. Give times in Asia/Taipei as they appear in the data, like \"2026-03-05 14:30\" or \"14:30\".\n"
        "3. Answer with one JSON object only: no prose and no Markdown code fences.\n"
        "4. The JSON must match this JSON Schema:\n{schema}\n"
        "5. Example (format only; write the content from the real data):\n{example}\n"
    ),
}

LABELS = {
    "zh-hant": {
        "room": "事件資訊", "members": "參與人員", "timeline": "時間軸訊息", "older": "較早訊息摘要",
        "files": "附件", "task": "撰寫要求", "title": "標題", "description": "描述", "severity": "嚴重程度",
        "category": "類別", "status": "狀態", "opened": "開始時間", "resolved": "結案時間",
        "resolution": "結案摘要", "created_by": "建立者", "none": "（無）", "system": "系統",
        "total": "訊息總數", "quiet": "安靜時段", "image": "圖片", "said": "則",
        "write_all": "請撰寫全部六個段落：{keys}。",
        "write_some": "只撰寫下列段落：{keys}。JSON 物件只包含這些鍵。",
        "action_items": "事件室行動項目", "owner": "負責人", "due": "期限", "unassigned": "待指派",
        "no_due": "未定", "item_states": {"open": "未完成", "done": "已完成"},
    },
    "en": {
        "room": "Incident", "members": "Members", "timeline": "Timeline", "older": "Older messages in brief",
        "files": "Files", "task": "Task", "title": "Title", "description": "Description", "severity": "Severity",
        "category": "Category", "status": "Status", "opened": "Opened", "resolved": "Resolved",
        "resolution": "Resolution summary", "created_by": "Opened by", "none": "(none)", "system": "system",
        "total": "Messages in total", "quiet": "Quiet stretches", "image": "image", "said": "messages",
        "write_all": "Write all six sections: {keys}.",
        "write_some": "Write only these sections: {keys}. The JSON object holds only these keys.",
        "action_items": "Action items recorded in the room", "owner": "owner", "due": "due",
        "unassigned": "to be assigned", "no_due": "not set", "item_states": {"open": "open", "done": "done"},
    },
}


def local(value, *, with_date=True) -> str:
    if value is None:
        return ""
    value = value.astimezone(TAIPEI)
    return value.strftime("%Y-%m-%d %H:%M") if with_date else value.strftime("%H:%M")


def system_prompt(language: str, keys: list[str] | None = None) -> str:
    language = normalize_language(language)
    keys = keys or SECTION_KEYS
    example = {k: v for k, v in EXAMPLE[language].items() if k in keys}
    return SYSTEM_PROMPT[language].format(
        schema=json.dumps(json_schema(keys), ensure_ascii=False, indent=1),
        example=json.dumps(example, ensure_ascii=False, indent=1),
    )


def format_room(snapshot: RoomSnapshot, language: str) -> str:
    """The room data as headed sections of plain text, in the report language's labels."""
    lab = LABELS[normalize_language(language)]
    room = snapshot.room
    lines = [f"## {lab['room']}"]
    for label, value in [
        (lab["title"], room.title), (lab["description"], room.description), (lab["severity"], room.severity.upper()),
        (lab["category"], room.category), (lab["status"], room.status_label), (lab["opened"], local(room.created_at)),
        (lab["resolved"], local(room.resolved_at)), (lab["created_by"], room.created_by),
        (lab["resolution"], room.resolution_summary), (lab["total"], str(snapshot.total_messages)),
    ]:
        lines.append(f"- {label}: {value or lab['none']}")
    lines += ["", f"## {lab['members']}"]
    for member in snapshot.members:
        lines.append(f"- {member.name} ({member.role_label}), {member.message_count} {lab['said']}")
    if snapshot.condensed:
        older = snapshot.condensed
        lines += ["", f"## {lab['older']} ({local(older.start)} – {local(older.end)}, {older.message_count} {lab['said']})"]
        lines += [f"- {name}: {count} {lab['said']}" for name, count in older.by_sender]
        for event in older.events:
            lines.append(f"- [{local(event.time)}] ({event.kind}) {event.body}")
        if older.quiet_stretches:
            lines.append(f"- {lab['quiet']}: " + "; ".join(
                f"{local(q.start)} – {local(q.end)}" for q in older.quiet_stretches[:50]))
    lines += ["", f"## {lab['timeline']}"]
    previous_day = None
    for message in snapshot.messages:
        day = local(message.time)[:10]
        stamp = local(message.time) if day != previous_day else local(message.time, with_date=False)
        previous_day = day
        who = message.sender or lab["system"]
        tag = "" if message.kind == "text" else f" ({message.kind})"
        lines.append(f"[{stamp}] {who}{tag}: {message.body}")
    if snapshot.files:
        lines += ["", f"## {lab['files']}"]
        for f in snapshot.files:
            kind = f", {lab['image']}" if f.is_image else ""
            lines.append(f"- {f.name} ({f.content_type}, {f.size} bytes{kind}), {f.uploaded_by} {local(f.created_at)}")
    return "\n".join(lines)


def format_action_items(snapshot: RoomSnapshot, language: str) -> str:
    """The room's action items as a headed list ("" when it has none)."""
    lab = LABELS[normalize_language(language)]
    if not snapshot.action_items:
        return ""
    lines = [f"## {lab['action_items']}"]
    for item in snapshot.action_items:
        state = lab["item_states"].get(item.status, item.status)
        lines.append(f"- {item.title} ({lab['owner']}: {item.assignee or lab['unassigned']}, "
                     f"{lab['due']}: {item.due_date or lab['no_due']}, {state})")
    return "\n".join(lines)


def user_prompt(snapshot: RoomSnapshot, language: str, keys: list[str] | None = None, kind: str = "incident") -> str:
    """The room data and the task. A kind that writes action items also gets the room's own action items."""
    language = normalize_language(language)
    lab = LABELS[language]
    sections = sections_for(kind)
    keys = keys or sections.keys
    names = ", ".join(f"{k} ({sections.title(k, language)})" for k in keys)
    task = (lab["write_all"] if list(keys) == sections.keys else lab["write_some"]).format(keys=names)
    room = format_room(snapshot, language)
    if "action_items" in sections.keys and snapshot.action_items:
        room += "\n\n" + format_action_items(snapshot, language)
    return f"{room}\n\n## {lab['task']}\n{task}"


def repair_prompt(answer: str, problems: list[str], language: str, keys: list[str]) -> str:
    if normalize_language(language) == "en":
        head = "Your previous answer was not valid JSON for the schema. Problems:"
        tail = f"Answer again with one JSON object holding exactly these keys: {', '.join(keys)}. No prose, no fences."
    else:
        head = "你上一次的回答不是符合 Schema 的 JSON。問題："
        tail = f"請重新回答一個只包含這些鍵的 JSON 物件：{', '.join(keys)}。不要加任何說明文字或程式碼區塊。"
    return "\n".join([head, *[f"- {p}" for p in problems], "", "---", answer[:20000], "---", tail])


# --- Postmortem (kind "postmortem"): its own sections and instructions -------------------------
# Every stage picks its sections by kind through sections_for(report.kind) (defined below).

POSTMORTEM_SECTION_KEYS = ["impact", "root_cause", "timeline", "went_well", "went_badly", "action_items"]
POSTMORTEM_SECTION_TITLES = {
    "zh-hant": {"impact": "影響", "root_cause": "根本原因", "timeline": "時間軸", "went_well": "做得好的地方",
                "went_badly": "需要改進的地方", "action_items": "改善行動項目"},
    "en": {"impact": "Impact", "root_cause": "Root cause", "timeline": "Timeline", "went_well": "What went well",
           "went_badly": "What went badly", "action_items": "Action items"},
}
POSTMORTEM_LIST_SECTIONS = {"timeline": ["time", "event"], "action_items": ["action", "owner", "due"]}
POSTMORTEM_SYSTEM_PROMPT = {
    "zh-hant": (
        "你是資深的維運事後檢討（postmortem）撰寫者。請依據事件室資料，以繁體中文（臺灣用語）撰寫不究責（blameless）的事後檢討。\n"
        "段落：影響（誰、多少、多久受影響）、根本原因（技術與流程上的原因，資料不足時寫出推論依據）、時間軸（關鍵時間點）、"
        "做得好的地方、需要改進的地方、改善行動項目（每項具體、可驗證，寫出負責人與期限；資料沒有時寫「待指派」）。\n"
        "規則：只根據資料撰寫，不杜撰；時間用臺北時間；只輸出一個符合下列 JSON Schema 的 JSON 物件，不要 Markdown。\n{schema}\n"
    ),
    "en": (
        "You are a senior writer of operations postmortems. Write a blameless postmortem in English from the "
        "incident room data.\n"
        "Sections: impact (who and what was affected, how much, for how long), root cause (technical and process "
        "causes; where the data is thin, say what the conclusion rests on), timeline (the key moments), what went "
        "well, what went badly, and action items (each concrete and checkable, with an owner and a due date; write "
        "\"to be assigned\" where the data names none).\n"
        "Rules: use only the data given, never invent; times in Asia/Taipei; answer with one JSON object matching "
        "this JSON Schema, with no Markdown.\n{schema}\n"
    ),
}


def postmortem_json_schema(keys: list[str] | None = None) -> dict:
    """The JSON schema of a postmortem answer (all six sections unless ``keys`` names fewer)."""
    keys = keys or POSTMORTEM_SECTION_KEYS

    def rows(fields):
        return {"type": "array", "items": {"type": "object", "required": fields,
                                           "properties": {f: {"type": "string"} for f in fields}}}

    properties = {key: {"type": "string", "description": f"{POSTMORTEM_SECTION_TITLES['zh-hant'][key]} {key}"}
                  for key in POSTMORTEM_SECTION_KEYS}
    for key, fields in POSTMORTEM_LIST_SECTIONS.items():
        properties[key] = {**rows(fields), "description": properties[key]["description"]}
    return {"type": "object", "required": list(keys), "properties": {k: properties[k] for k in keys},
            "additionalProperties": False}


def postmortem_system_prompt(language: str, keys: list[str] | None = None) -> str:
    return POSTMORTEM_SYSTEM_PROMPT[normalize_language(language)].format(
        schema=json.dumps(postmortem_json_schema(keys), ensure_ascii=False, indent=1))


# --- What each kind of report is made of ---------------------------------------------------------


@dataclass(frozen=True)
class SectionSet:
    """The sections of one kind of report: keys in order, titles per language, the fields of its tables."""

    kind: str
    keys: list[str]
    titles: dict[str, dict[str, str]]
    list_fields: dict[str, list[str]]
    prompt: Callable[[str, list[str] | None], str]  # (language, keys) -> the system prompt

    def title(self, key: str, language: str) -> str:
        return self.titles[normalize_language(language)][key]

    def titles_in(self, language: str) -> dict[str, str]:
        return {key: self.title(key, language) for key in self.keys}

    def system_prompt(self, language: str, keys: list[str] | None = None) -> str:
        return self.prompt(language, keys)


INCIDENT_SECTIONS = SectionSet("incident", SECTION_KEYS, SECTION_TITLES, LIST_SECTIONS, system_prompt)
POSTMORTEM_SECTIONS = SectionSet("postmortem", POSTMORTEM_SECTION_KEYS, POSTMORTEM_SECTION_TITLES,
                                 POSTMORTEM_LIST_SECTIONS, postmortem_system_prompt)


def sections_for(kind: str | None) -> SectionSet:
    """The sections a report of ``kind`` is written with (the incident report's for any other kind)."""
    return POSTMORTEM_SECTIONS if kind == "postmortem" else INCIDENT_SECTIONS


def section_keys_for(kind: str) -> list[str]:
    return sections_for(kind).keys
