"""Container healthcheck of a web process: GET its /readyz (or the URL given); exit 0 on a 200.

Compose (docker-compose.yml, service ``web``) runs it inside the container. It sends a Host the
site accepts (the first of DJANGO_ALLOWED_HOSTS), since Django refuses unknown hosts with a 400.
Plain Python, no Django: it costs a few milliseconds.
"""

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 8


def main(argv) -> int:
    url = argv[1] if len(argv) > 1 else "http://127.0.0.1:8000/readyz"
    hosts = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip() not in ("", "*")]
    request = urllib.request.Request(url, headers={"Host": hosts[0].lstrip(".") if hosts else "localhost"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - our own URL
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(f"{url}: {exc.code} {exc.read()[:500].decode(errors='replace')}", file=sys.stderr)
    except OSError as exc:
        print(f"{url}: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
