"""Languages: every page string has a Traditional Chinese translation, and English stays available.

The catalogue is read with a few lines of Python (no polib): every entry needs a msgstr
and none may be fuzzy. The pages are then rendered the way a browser asks for them,
with Accept-Language.
"""

import ast
import gettext
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from config.errors import Conflict
from incidents import services
from tests.factories import add_messages

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hant" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def _catalogue(path):
    """The entries of a .po file as dicts: msgid, msgid_plural, msgstr, msgstr[n] and flags."""
    entries, entry, field = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            entry, field = None, None
            continue
        if entry is None:
            entry = {"flags": set()}
            entries.append(entry)
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#~"):
            entry["obsolete"] = True
        elif match := re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$', line):
            field = match.group(1)
            entry[field] = ast.literal_eval(match.group(2))
        elif line.startswith('"') and field:
            entry[field] += ast.literal_eval(line)
    return [entry for entry in entries if "msgid" in entry or entry.get("obsolete")]


def test_the_catalogue_is_complete_and_compiled():
    entries = _catalogue(PO)
    assert len(entries) > 200
    assert not [entry for entry in entries if entry.get("obsolete")], "obsolete (#~) entries left in the .po"
    assert not [entry["msgid"] for entry in entries if "fuzzy" in entry["flags"]], "fuzzy entries left"
    untranslated = [
        entry["msgid"]
        for entry in entries
        if entry["msgid"] and not all(value for key, value in entry.items() if key.startswith("msgstr"))
    ]
    assert not untranslated, f"untranslated: {untranslated}"
    for entry in entries:  # placeholders survive translation exactly
        placeholders = sorted(re.findall(r"%(?:\(\w+\))?[-0-9.]*[sd]", entry["msgid"]))
        for key, value in entry.items():
            if key.startswith("msgstr") and entry["msgid"]:
                assert sorted(re.findall(r"%(?:\(\w+\))?[-0-9.]*[sd]", value)) == placeholders, entry["msgid"]
    with MO.open("rb") as compiled:  # the committed .mo says what the .po says: compilemessages was run
        catalog = gettext.GNUTranslations(compiled)._catalog
    for entry in entries:
        if entry["msgid"] and "msgid_plural" not in entry:
            # A pgettext entry is stored under "context\x04msgid".
            key = f"{entry['msgctxt']}\x04{entry['msgid']}" if "msgctxt" in entry else entry["msgid"]
            assert catalog.get(key) == entry["msgstr"], f"stale .mo for {entry['msgid']!r}: run compilemessages"


CHINESE = {
    "login": ["登入 Warroom", "帳號或電子郵件", "密碼"],
    "rooms": ["我的事件室", "新增事件室", "嚴重性", "類別", "進行中", "登出", "統計"],
    "room": ["時間軸", "成員", "檔案", "報告", "工單紀錄", "任務", "送出", "指揮官", "處理人員", "事件報告", "產生報告",
             "解決", "解決此事件", "解決摘要", "封存", "重新開啟", "取消"],
    "dashboard": ["事件統計", "解決率", "依類別", "7 天"],
}
ENGLISH = {
    "login": ["Log in to Warroom", "Account or email", "Password"],
    "rooms": ["My rooms", "New room", "Severity", "Category", "Active", "Log out", "Statistics"],
    "room": ["Timeline", "Members", "Files", "Reports", "Ticket notes", "Tasks", "Send", "Commander", "Responder",
             "Incident report", "Generate report", "Resolve", "Resolve this incident", "Resolution summary", "Archive",
             "Reopen", "Cancel"],
    "dashboard": ["Incident statistics", "Resolution rate", "By category", "7 days"],
}


def _pages(client, room, commander, language):
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    client.logout()
    yield "login", client.get(reverse("login"), **headers)
    client.force_login(commander)
    yield "rooms", client.get(reverse("incidents:room-list"), **headers)
    yield "room", client.get(reverse("incidents:room-detail", args=[room.id]), **headers)
    yield "dashboard", client.get(reverse("incidents:dashboard"), **headers)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "html_lang", "expected", "absent"),
    [
        ("zh-hant", "zh-Hant", CHINESE, ["My rooms", "Timeline", "Log in to Warroom", "Resolve this incident"]),
        ("zh-TW,zh;q=0.9,en;q=0.8", "zh-Hant", CHINESE, ["My rooms", "Timeline"]),
        ("en", "en", ENGLISH, ["我的事件室", "時間軸", "登入 Warroom", "解決此事件"]),
    ],
)
def test_pages_speak_the_language_the_browser_asks_for(client, room, commander, language, html_lang, expected, absent):
    add_messages(room, commander, 2)
    seen = ""
    for name, response in _pages(client, room, commander, language):
        assert response.status_code == 200, name
        page = response.content.decode()
        assert f'<html lang="{html_lang}">' in page, name
        missing = [text for text in expected[name] if text not in page]
        assert not missing, f"{name} page lacks {missing}"
        seen += page
    for text in absent:
        assert text not in seen


@pytest.mark.django_db
def test_the_room_scripts_get_translated_strings(client, room, commander):
    client.force_login(commander)
    page = client.get(reverse("incidents:room-detail", args=[room.id]), HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    # Handed to the scripts as a json_script block (the CSP forbids inline scripts).
    block = re.search(r'<script id="warroom-i18n" type="application/json">(.*?)</script>', page, re.S).group(1)
    strings = json.loads(block)
    assert strings["resolved"] == "已解決" and strings["uploadFailed"] == "上傳失敗"
    assert strings["reportReady"] == "報告已完成" and strings["stage_collecting_data"] == "收集資料"
    english = [key for key, value in strings.items() if re.fullmatch(r"[A-Za-z ().,?:'…-]+", value) and value not in {"AI"}]
    assert not english, f"untranslated WARROOM_I18N strings: {english}"


@pytest.mark.django_db
def test_service_errors_and_timeline_events_are_written_in_the_active_language(room, commander):
    with translation.override("zh-hant"):
        with pytest.raises(Conflict) as error:
            services.room_archive(room=room, by=commander)
        assert error.value.message == "請先解決事件室再封存。"
    with translation.override("en"):
        with pytest.raises(Conflict) as error:
            services.room_archive(room=room, by=commander)
        assert error.value.message == "Resolve the room before archiving it."


@pytest.mark.django_db
def test_the_language_switch_remembers_english(client, member):
    client.force_login(member)
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("incidents:room-list")})
    assert response.status_code == 302
    page = client.get(reverse("incidents:room-list"), HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert "My rooms" in page and "我的事件室" not in page
