"""A real OpenLDAP with AD-like people, started by the tests (scripts/start-slapd.sh).

Fixtures:
- ``slapd`` (session): one directory for the session, seeded by the script.
- ``directory`` (function): points Warroom at ``slapd`` through the same
  settings builder production uses, after restoring the seeded entries.
- ``stopped_directory`` (function): the address of a slapd that was started
  and then stopped, for "the directory is down" tests.
- ``configure_directory(settings, **env)``: Warroom's settings for other directory addresses.

With CI=true a missing slapd fails the tests instead of skipping them.
"""

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import ldap
import pytest

from accounts.ldap_config import directory_settings
from tests.services import ROOT, free_port, require

BASE = "dc=example,dc=com"
ADMIN_DN, ADMIN_PW = f"cn=admin,{BASE}", "adminpw"
SERVICE_DN, SERVICE_PW = f"cn=svc-warroom,ou=Users,{BASE}", "svcpw"
USER_PW = "Passw0rd!"
ALICE_DN = f"cn=Alice Chen,ou=Users,{BASE}"
BOB_DN = f"cn=Bob Lin,ou=Users,{BASE}"
OPERATORS_DN = f"cn=Warroom Operators,ou=Groups,{BASE}"
ADMINS_DN = f"cn=Warroom Admins,ou=Groups,{BASE}"
SOC_DN = f"cn=SOC Analysts,ou=Groups,{BASE}"
# Short, so that the "down" and "silent" tests stay quick; production defaults to 5 s.
TEST_TIMEOUT_SECONDS = 2

SLAPD_BINARIES = ("slapd", "slaptest", "slappasswd", "ldapadd", "ldapwhoami")


def _have_slapd():
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin"
    return all(shutil.which(name, path=path) for name in SLAPD_BINARIES)


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _process_gone(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # A daemon whose parent is init may linger as a zombie until it is reaped: that is gone too.
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


@dataclass
class Slapd:
    folder: Path
    port: int
    pid: int
    snapshot: dict = field(default_factory=dict)

    @property
    def uri(self):
        return f"ldap://127.0.0.1:{self.port}"

    def admin(self):
        connection = ldap.initialize(self.uri)
        connection.set_option(ldap.OPT_NETWORK_TIMEOUT, 5)
        connection.set_option(ldap.OPT_TIMEOUT, 5)
        connection.simple_bind_s(ADMIN_DN, ADMIN_PW)
        return connection

    def entry(self, dn):
        return self.admin().search_s(dn, ldap.SCOPE_BASE, attrlist=["*"])[0][1]

    def modify(self, dn, changes):
        """changes: {attribute: [values] | None (remove)}; values are str."""
        mods = []
        for attribute, values in changes.items():
            if values is None:
                mods.append((ldap.MOD_DELETE, attribute, None))
            else:
                mods.append((ldap.MOD_REPLACE, attribute, [v.encode() for v in values]))
        self.admin().modify_s(dn, mods)

    def take_snapshot(self):
        self.snapshot = {dn: self.entry(dn) for dn in (ALICE_DN, BOB_DN, OPERATORS_DN, ADMINS_DN, SOC_DN)}

    def restore(self):
        """Put the seeded entries back as the script made them."""
        connection = self.admin()
        for dn, seeded in self.snapshot.items():
            current = connection.search_s(dn, ldap.SCOPE_BASE, attrlist=["*"])[0][1]
            mods = [(ldap.MOD_REPLACE, name, values) for name, values in seeded.items() if current.get(name) != values]
            mods += [(ldap.MOD_DELETE, name, None) for name in current if name not in seeded]
            if mods:
                connection.modify_s(dn, mods)

    def stop(self):
        try:
            os.kill(self.pid, 15)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if _process_gone(self.pid) and not _port_open(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError(f"slapd (pid {self.pid}) did not stop within 15 s")


def start_slapd(folder: Path) -> Slapd:
    require(_have_slapd(), "OpenLDAP (slapd and ldap-utils)")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    result = subprocess.run(
        ["sh", str(ROOT / "scripts" / "start-slapd.sh")],
        env={**os.environ, "LDAPDIR": str(folder), "LDAP_PORT": str(port)},
        capture_output=True, text=True, timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"start-slapd.sh failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return Slapd(folder=folder, port=port, pid=int((folder / "slapd.pid").read_text().strip()))


def directory_env(uri, **overrides):
    env = {
        "AUTH_LDAP_SERVER_URI": uri,
        "AUTH_LDAP_BIND_DN": SERVICE_DN,
        "AUTH_LDAP_BIND_PASSWORD": SERVICE_PW,
        "AUTH_LDAP_USER_SEARCH_BASE": f"ou=Users,{BASE}",
        "AUTH_LDAP_GROUP_SEARCH_BASE": f"ou=Groups,{BASE}",
        "AUTH_LDAP_STAFF_GROUP_DN": OPERATORS_DN,
        "AUTH_LDAP_SUPERUSER_GROUP_DN": ADMINS_DN,
        "AUTH_LDAP_NETWORK_TIMEOUT": str(TEST_TIMEOUT_SECONDS),
        "AUTH_LDAP_TIMEOUT": str(TEST_TIMEOUT_SECONDS),
    }
    env.update(overrides)
    return env


def configure_directory(settings, uri, **overrides):
    """Warroom's settings for a directory at ``uri``, built as config/settings.py builds them."""
    for name, value in directory_settings(directory_env(uri, **overrides)).items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = ["accounts.ldap.DirectoryBackend", "django.contrib.auth.backends.ModelBackend"]


@pytest.fixture(scope="session")
def slapd(tmp_path_factory):
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    try:
        server.take_snapshot()
        yield server
    finally:
        server.stop()


@pytest.fixture
def directory(slapd, settings):
    slapd.restore()
    configure_directory(settings, slapd.uri)
    return slapd


@pytest.fixture
def stopped_directory(tmp_path):
    server = start_slapd(tmp_path / "slapd")
    server.stop()
    assert not _port_open(server.port)
    return server.uri


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The throttling tests check many passwords; the real hasher costs ~0.25 s each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
