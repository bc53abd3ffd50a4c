"""The shape of the code holds: the import contract of pyproject.toml, the event catalogue and its docs."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from realtime.events import CATALOGUE, Event, UnknownEvent, publish

ROOT = Path(settings.BASE_DIR)


def test_the_import_contract_is_kept():
    """Apps depend one way, realtime imports no app, and no app has an import cycle inside it."""
    run = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_publishing_a_type_the_catalogue_does_not_declare_is_refused():
    with pytest.raises(UnknownEvent):
        publish("00000000-0000-0000-0000-000000000000", Event("made.up", {}))
    with pytest.raises(UnknownEvent):
        publish("00000000-0000-0000-0000-000000000000", "message.created")


def test_every_event_of_the_catalogue_is_documented_and_nothing_else():
    import alerts.events  # noqa: F401 - the apps declare their events on import
    import incidents.events  # noqa: F401
    import knowledge.events  # noqa: F401
    import reports.events  # noqa: F401

    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_.]+)` \|", (ROOT / "docs" / "events.md").read_text(), re.M))
    assert documented == set(CATALOGUE)


def test_nothing_publishes_a_bare_string_type():
    """Events are built by their catalogue builders, never typed in place."""
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        if path.parts[len(ROOT.parts)] in (".venv", "var", "tests", "bench"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(r"publish(_on_commit)?\([^)]*,\s*[\"']", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, offenders
