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
