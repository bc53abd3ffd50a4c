"""docker-compose.yml is a valid Compose file, pins its images, and probes web and worker as documented."""

import json
import re
from importlib import resources

import jsonschema

from tests import compose

SECRET = {"DJANGO_SECRET_KEY": "a-long-random-value-for-the-test-only-0123456789abcdefghij"}


def compose_spec_schema() -> dict:
    # The Compose specification's own schema, as check-jsonschema ships it (vendor/compose-spec.json).
    return json.loads((resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json").read_text())


def test_the_compose_file_is_valid_against_the_compose_specification():
    document = compose.interpolate(compose.load(), SECRET)
    schema = compose_spec_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
    assert not errors, [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors]


def test_the_schema_check_catches_a_broken_file():
    document = compose.interpolate(compose.load(), SECRET)
    document["services"]["web"]["healthcheck"]["retries"] = "three"
    document["services"]["worker"]["stop_grace_period"] = {"seconds": 60}
    schema = compose_spec_schema()
    assert len(list(jsonschema.validators.validator_for(schema)(schema).iter_errors(document))) == 2


def test_every_image_is_pinned_to_a_version():
    raw = compose.load()["services"]
    for name, service in compose.interpolate(raw, SECRET).items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", (name, image)
        if "build" in service:
            # Built here from the Dockerfile and tagged with the release being deployed.
            assert tag == "dev" and raw[name]["image"] == "warroom:${WARROOM_VERSION:-dev}", (name, image)
        else:
            # A full version (15.10, 7.4.2, 12.9) or a dated release, not a moving major tag.
            assert re.search(r"\d+\.\d+|RELEASE\.\d{4}-\d\d-\d\d", tag), (name, image)


def test_web_is_ready_by_readyz_and_the_worker_by_a_celery_ping():
    services = compose.load()["services"]
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "scripts/healthcheck.py",
                                                      "http://127.0.0.1:8000/readyz"]
    worker_check = services["worker"]["healthcheck"]["test"]
    assert worker_check[0] == "CMD-SHELL" and "celery -A config inspect ping --destination celery@$$HOSTNAME" in worker_check[1]


def test_uvicorn_trusts_forwarded_headers_only_from_the_configured_proxies():
    command = compose.service("web", SECRET)["command"]
    # Not uvicorn's default (127.0.0.1,::1: whatever connects from inside the container).
    assert command[command.index("--forwarded-allow-ips") + 1] == ""
    command = compose.service("web", {**SECRET, "TRUSTED_PROXIES": "10.20.0.0/16"})["command"]
    assert command[command.index("--forwarded-allow-ips") + 1] == "10.20.0.0/16"
    assert "--timeout-graceful-shutdown" in command


def test_interpolation_follows_compose():
    variables = {"SET": "x", "EMPTY": ""}
    assert compose.interpolate("${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} ${UNSET} $$HOSTNAME", variables) == "x d  d  $HOSTNAME"
    try:
        compose.interpolate("${UNSET:?needed}", variables)
    except ValueError as exc:
        assert "needed" in str(exc)
    else:
        raise AssertionError("a required variable that is unset must stop compose")


# --- What .env switches on, and the metrics directory -------------------------------------------------

# Compose's own values where Warroom's default would not suit the containers.
COMPOSE_OWN_DEFAULTS = {"DJANGO_ALLOWED_HOSTS", "REDIS_URL"}
PASS_THROUGH = re.compile(r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(:?-)")


def passed_through() -> set[str]:
    """The variables of web's environment that come from .env / the shell (``NAME: ${NAME:-...}``)."""
    raw = compose.load()["services"]["web"]["environment"]
    return {key for key, value in raw.items()
            if isinstance(value, str) and (match := PASS_THROUGH.match(value)) and match["name"] == key}


def test_the_operations_and_sentinel_variables_reach_every_warroom_process():
    names = passed_through()
    assert {"METRICS_TOKEN", "LOG_FORMAT", "LOG_LEVEL", "SENTRY_DSN", "SENTRY_ENVIRONMENT", "SENTRY_RELEASE",
            "SENTRY_TRACES_SAMPLE_RATE", "REDIS_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "REDIS_PASSWORD",
            "REDIS_SENTINEL_PASSWORD", "REDIS_DB"} <= names
    document = compose.load()
    for name in ("web", "worker", "beat", "migrate"):
        environment = compose.service(name, {**SECRET, "METRICS_TOKEN": "scrape-me", "LOG_FORMAT": "json"},
                                      document)["environment"]
        assert environment["METRICS_TOKEN"] == "scrape-me" and environment["LOG_FORMAT"] == "json", name


def dumped_settings(environment: dict) -> dict:
    """Every setting of a fresh process started with ``environment``, as text."""
    import subprocess
    import sys

    script = ("import json, django; django.setup(); from django.conf import settings; "
              "print(json.dumps({k: repr(getattr(settings, k)) for k in dir(settings) if k.isupper()}))")
    result = subprocess.run([sys.executable, "-c", script], cwd=compose.ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    # Objects without a repr of their own (botocore's Config) differ by address only.
    return {key: re.sub(r" at 0x[0-9a-f]+", "", value)
            for key, value in json.loads(result.stdout.strip().splitlines()[-1]).items()}


def test_a_variable_left_unset_in_env_gives_warroom_its_own_default(tmp_path):
    """`${NAME:-}` hands the containers "" for an unset variable: that must mean what no variable means."""
    import os

    from config.redis_settings import redis_target

    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "WARROOM_VAR_DIR": str(tmp_path / "var"),
            "DJANGO_SETTINGS_MODULE": "config.settings"}
    composed = compose.service("web", SECRET)["environment"]
    composed["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    without = {key: value for key, value in composed.items()
               if key not in passed_through() - COMPOSE_OWN_DEFAULTS}
    assert dumped_settings({**base, **composed}) == dumped_settings({**base, **without})
    # Sentinel from .env: REDIS_SENTINELS and an empty REDIS_URL (Warroom refuses both at once).
    sentinel = compose.service("web", {**SECRET, "REDIS_URL": "", "REDIS_SENTINELS": "s1:26379,s2:26379",
                                       "REDIS_SENTINEL_MASTER": "warroom"})["environment"]
    target = redis_target(sentinel)
    assert target.uses_sentinel and target.master == "warroom" and target.db == 0


def test_web_worker_and_beat_share_one_metrics_directory_emptied_when_the_deployment_starts():
    document = compose.interpolate(compose.load(), SECRET)
    services = document["services"]
    directory = services["web"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    for name, service in services.items():
        if "PROMETHEUS_MULTIPROC_DIR" not in (service.get("environment") or {}):
            continue
        # Every process with the variable writes there, and can: the same volume at that path.
        assert service["environment"]["PROMETHEUS_MULTIPROC_DIR"] == directory, name
        assert f"metrics:{directory}" in service.get("volumes", []), name
    with_directory = {name for name, service in services.items()
                      if "PROMETHEUS_MULTIPROC_DIR" in (service.get("environment") or {})}
    assert {"web", "worker", "beat"} <= with_directory
    # A tmpfs: empty whenever no container holds it (a deployment's start), kept while one does.
    assert document["volumes"]["metrics"]["driver_opts"]["type"] == "tmpfs"
    # The worker's probe is a new process every 30 s: it must not leave files in the directory.
    assert services["worker"]["healthcheck"]["test"][1].startswith("env -u PROMETHEUS_MULTIPROC_DIR ")
