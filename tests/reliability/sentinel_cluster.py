"""A Redis primary, one replica and three sentinels of our own, on free loopback ports.

Started from Debian's ``redis-server`` and ``redis-sentinel`` in a temporary folder;
every process is this object's child and ``stop()`` ends them all. Passwords on both
the data nodes and the sentinels, so the clients' password settings are exercised too.
"""

import secrets
import shutil
import time
from pathlib import Path

from tests.services import Process, free_port, require, wait_until

MASTER = "warroom"
# Characters that must survive URL quoting on their way into kombu's sentinel:// URLs.
PASSWORD = "data p@ss/1"
SENTINEL_PASSWORD = "sentinel-pass:2"
# A primary that does not answer for this long is down; the sentinels then elect and promote.
DOWN_AFTER_MS = 1000


class SentinelCluster:
    def __init__(self, directory, log_dir):
        self.directory = Path(directory)
        self.log_dir = log_dir
        self.primary_port = free_port()
        self.replica_port = free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        # Fixed ids, so that each sentinel's file can name the others and the replica at once:
        # otherwise they find each other through hello messages every 2 s, and a failover
        # cannot be elected for the first several seconds.
        self.sentinel_ids = [secrets.token_hex(20) for _ in self.sentinel_ports]
        self.processes = {}

    # --- environment for Warroom processes --------------------------------------------------

    @property
    def env(self) -> dict:
        return {
            "REDIS_SENTINELS": ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports),
            "REDIS_SENTINEL_MASTER": MASTER,
            "REDIS_PASSWORD": PASSWORD,
            "REDIS_SENTINEL_PASSWORD": SENTINEL_PASSWORD,
            "REDIS_DB": "0",
        }

    def target(self):
        from config.redis_settings import redis_target

        return redis_target(self.env)

    # --- processes ---------------------------------------------------------------------------

    def _data_node(self, name, port, *extra):
        folder = self.directory / name
        folder.mkdir(parents=True, exist_ok=True)
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                "--dir", str(folder), "--maxmemory-policy", "noeviction",
                "--requirepass", PASSWORD, "--masterauth", PASSWORD,
                # A replica gets its first copy at once, not after the default 5 s wait for more replicas.
                "--repl-diskless-sync-delay", "0", *extra]
        return Process(f"redis-{name}-{port}", args, env={}, log_dir=self.log_dir)

    def _sentinel(self, index, port):
        folder = self.directory / f"sentinel-{index}"
        folder.mkdir(parents=True, exist_ok=True)
        conf = folder / "sentinel.conf"  # the sentinel rewrites it with what it learns
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {self.primary_port} 2\n"
            f'sentinel auth-pass {MASTER} "{PASSWORD}"\n'
            f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER} 10000\n"
            f"sentinel parallel-syncs {MASTER} 1\n"
            f'requirepass "{SENTINEL_PASSWORD}"\n'
            f'sentinel sentinel-pass "{SENTINEL_PASSWORD}"\n'
            f"sentinel myid {self.sentinel_ids[index]}\n"
            f"sentinel known-replica {MASTER} 127.0.0.1 {self.replica_port}\n"
            + "".join(f"sentinel known-sentinel {MASTER} 127.0.0.1 {other} {self.sentinel_ids[i]}\n"
                      for i, other in enumerate(self.sentinel_ports) if i != index)
        )
        return Process(f"sentinel-{index}-{port}", ["redis-sentinel", str(conf)], env={}, log_dir=self.log_dir)

    def start(self):
        require(shutil.which("redis-server") and shutil.which("redis-sentinel"),
                "redis-server and redis-sentinel (apt-get install redis-server redis-sentinel)")
        self.processes["primary"] = self._data_node("primary", self.primary_port).start()
        self._wait_ping(self.primary_port, PASSWORD, "the Redis primary", self.processes["primary"])
        self.processes["replica"] = self._data_node(
            "replica", self.replica_port, "--replicaof", "127.0.0.1", str(self.primary_port)).start()
        wait_until(lambda: self._info(self.replica_port).get("master_link_status") == "up", timeout=20,
                   what="the replica in sync", process=self.processes["replica"].popen,
                   log=self.processes["replica"].log)
        for index, port in enumerate(self.sentinel_ports):
            self.processes[f"sentinel-{index}"] = self._sentinel(index, port).start()
        for index, port in enumerate(self.sentinel_ports):
            process = self.processes[f"sentinel-{index}"]
            # Each sentinel must know the replica and the two other sentinels before a failover can be elected.
            wait_until(lambda port=port: self._sentinel_ready(port), timeout=30, what=f"sentinel {index} ready",
                       process=process.popen, log=process.log)
        return self

    def stop(self):
        for process in self.processes.values():
            process.stop()

    def kill_primary(self) -> float:
        """``kill -9`` the current primary; returns the moment it was sent (time.monotonic)."""
        process = self.processes["primary"]
        moment = time.monotonic()
        process.stop(sig_kill=True)
        assert process.popen.returncode == -9
        return moment

    # --- questions -----------------------------------------------------------------------------

    def sentinel_client(self, port):
        import redis

        return redis.Redis(host="127.0.0.1", port=port, password=SENTINEL_PASSWORD, socket_timeout=1,
                           socket_connect_timeout=1, decode_responses=True)

    def master_port(self) -> int | None:
        """The primary's port as the sentinels' majority sees it now."""
        votes = {}
        for port in self.sentinel_ports:
            try:
                address = self.sentinel_client(port).execute_command("SENTINEL", "get-master-addr-by-name", MASTER)
            except Exception:  # noqa: BLE001 - a sentinel that does not answer has no vote
                continue
            if address:
                votes[int(address[1])] = votes.get(int(address[1]), 0) + 1
        best = max(votes.items(), key=lambda item: item[1], default=(None, 0))
        return best[0] if best[1] >= 2 else None

    def _sentinel_ready(self, port) -> bool:
        info = self.sentinel_client(port).execute_command("SENTINEL", "master", MASTER)
        fields = dict(zip(info[::2], info[1::2], strict=False)) if isinstance(info, list) else info
        return int(fields["num-slaves"]) >= 1 and int(fields["num-other-sentinels"]) >= 2

    def _info(self, port) -> dict:
        import redis

        return redis.Redis(host="127.0.0.1", port=port, password=PASSWORD, socket_timeout=1).info("replication")

    @staticmethod
    def _wait_ping(port, password, what, process):
        import redis

        wait_until(lambda: redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=1).ping(),
                   timeout=15, what=what, process=process.popen, log=process.log)
