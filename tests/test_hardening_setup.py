"""Configuration the security review found brittle: empty variables, the deploy check, compose's key, apt's lock."""

import os
import subprocess
import sys

from tests.services import ROOT

KNOWN_DEFAULT = "change-me-in-production-please-0123456789-abcdefghij"


def manage(*args, env):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_an_empty_database_url_means_the_embedded_default(tmp_path):
    env = {**os.environ, "DATABASE_URL": "", "WARROOM_VAR_DIR": str(tmp_path)}
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    result = manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "django.db.backends.sqlite3"


def test_the_deploy_check_refuses_the_published_default_key(tmp_path):
    env = {**os.environ, "DJANGO_SECRET_KEY": KNOWN_DEFAULT, "DJANGO_HTTPS": "true", "DJANGO_ALLOWED_HOSTS": "warroom.example.com",
           "DJANGO_HSTS_PRELOAD": "true", "WARROOM_VAR_DIR": str(tmp_path)}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0 and "warroom.E001" in result.stdout + result.stderr


def test_compose_requires_a_secret_key_and_make_has_check_deploy():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert KNOWN_DEFAULT not in compose and "${DJANGO_SECRET_KEY:?" in compose
    dry_run = subprocess.run(["make", "-n", "check-deploy"], cwd=ROOT, capture_output=True, text=True)
    assert dry_run.returncode == 0 and "check --deploy" in dry_run.stdout


def test_apt_waits_for_the_dpkg_lock(tmp_path):
    """apt_install with a fake apt-get and dpkg on PATH: every apt-get call waits for the lock."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    (bin_dir / "dpkg").write_text("#!/bin/sh\nexit 1\n")  # nothing is installed
    (bin_dir / "id").write_text("#!/bin/sh\necho 0\n")  # as root: no sudo
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    script = f". {ROOT / 'scripts' / 'lib.sh'} && apt_install some-package"
    result = subprocess.run(["bash", "-c", script], env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = calls.read_text().splitlines()
    assert len(lines) == 2 and all("-o DPkg::Lock::Timeout=300" in line for line in lines), lines


def test_uvicorn_never_reads_forwarded_headers_itself_and_compose_passes_trusted_proxies():
    """uvicorn's --proxy-headers trusts X-Forwarded-For from 127.0.0.1 by default; Django alone reads it, from TRUSTED_PROXIES."""
    for launcher in ("Dockerfile", "scripts/run.sh", "tests/services.py"):
        text = (ROOT / launcher).read_text()
        assert "--no-proxy-headers" in text and '"--proxy-headers"' not in text, launcher
    assert "TRUSTED_PROXIES: ${TRUSTED_PROXIES:-}" in (ROOT / "docker-compose.yml").read_text()
