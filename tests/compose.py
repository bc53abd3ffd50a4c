"""docker-compose.yml as data: its services' commands and environments, interpolated as compose would.

No container engine runs on these machines, so the tests start the compose file's own
processes (tests/integration/test_compose_start.py): the same ``command`` and ``environment``,
with only the host names and ports of the services swapped for the ones started locally.
"""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; $$ is a literal $.
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def load(path: Path = COMPOSE_FILE) -> dict:
    """The compose file with YAML anchors and merge keys (``<<: *warroom``) resolved, not yet interpolated."""
    return yaml.safe_load(path.read_text())


def interpolate(value, variables: dict):
    """Compose's variable interpolation over strings, lists and dicts."""
    if isinstance(value, dict):
        return {key: interpolate(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match):
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        present = name in variables and (variables[name] != "" or not (op or "").startswith(":"))
        if present:
            return variables[name]
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            raise ValueError(f"compose refuses to start: {name}: {arg}")
        return ""

    return _VARIABLE.sub(replace, value)


def service(name: str, variables: dict, compose: dict | None = None) -> dict:
    """One service with its variables interpolated: ``command`` (a list), ``environment`` (a dict), ..."""
    compose = compose or load()
    spec = interpolate(compose["services"][name], variables)
    environment = spec.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    spec["environment"] = {key: "" if value is None else str(value) for key, value in environment.items()}
    return spec


def image_command(dockerfile: Path = ROOT / "Dockerfile") -> list[str]:
    """The Dockerfile's CMD (exec form): what a service without ``command`` runs."""
    import json

    for line in reversed(dockerfile.read_text().splitlines()):
        if line.startswith("CMD "):
            return json.loads(line[4:])
    raise ValueError("the Dockerfile has no CMD")
