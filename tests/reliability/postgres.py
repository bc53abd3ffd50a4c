"""A PostgreSQL cluster of the test's own (initdb + pg_ctl in a temporary folder, on a free port).

The shared server on 5432 is never stopped: a test that restarts PostgreSQL starts this one,
copies the test database into it (``pg_dump | psql``, a second or two instead of migrating)
and points its Warroom processes at it.
"""

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tests.services import free_port, require


def postgres_bin() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """initdb, start, stop and start again; ``url`` is the Warroom database in it."""

    DATABASE = "warroom"

    def __init__(self):
        self.bin = postgres_bin()
        require(self.bin is not None and shutil.which("pg_dump") and shutil.which("psql"),
                "PostgreSQL server binaries (initdb, pg_ctl under /usr/lib/postgresql/*/bin) and pg_dump/psql")
        # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
        self.folder = Path(tempfile.mkdtemp(prefix="warroom-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/{self.DATABASE}"
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.folder, "postgres", "postgres")

    def _run(self, *args, timeout=60):
        # initdb refuses to run as root: run the server's tools as the postgres user.
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            command = ["su", "postgres", "-c", subprocess.list2cmdline(command)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n{self.tail()}")
        return result

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def init(self):
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8")
        return self

    def start(self):
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "-o", options, "start")

    def stop(self):
        """Fast shutdown: every session is ended at once, as in a restart or a failover."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def copy_database(self, source: dict):
        """Create the Warroom database here as a copy of ``source`` (a Django settings dict), rows and all."""
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.DATABASE}"')
        env = {**os.environ, "PGPASSWORD": source.get("PASSWORD") or ""}
        dump = subprocess.run(
            ["pg_dump", "--no-owner", "--no-privileges", "-h", source.get("HOST") or "127.0.0.1",
             "-p", str(source.get("PORT") or 5432), "-U", source["USER"], source["NAME"]],
            capture_output=True, env=env, timeout=120, check=True,
        ).stdout
        subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-d", self.DATABASE],
            input=dump, capture_output=True, timeout=120, check=True,
        )

    def connect(self, **kwargs):
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=self.DATABASE, **kwargs)

    def query(self, sql, params=()):
        with self.connect() as conn:
            return conn.execute(sql, params).fetchall()

    def destroy(self):
        if self.running:
            try:
                self.stop()
            except RuntimeError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)
