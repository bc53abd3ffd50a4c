#!/usr/bin/env bash
# Create .venv and install requirements/<profile>.txt (base or dev) when they changed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
profile=${1:-base}
PYTHON=${PYTHON:-python3}

# python-ldap (django-auth-ldap) has no wheel: it builds against the OpenLDAP headers.
packages=(libldap2-dev libsasl2-dev)
# Debian's python3 makes virtualenvs only with python3-venv.
"$PYTHON" -c "import ensurepip" 2>/dev/null || packages+=(python3-venv)
command -v gcc >/dev/null 2>&1 || packages+=(gcc)
"$PYTHON" -c "import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')) else 1)" \
  || packages+=(python3-dev)
apt_install "${packages[@]}"

if [ ! -x .venv/bin/python ]; then
  echo "==> Creating .venv"
  "$PYTHON" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
stamp=".venv/.installed-$profile"
want=$(cat requirements/*.txt | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> Installing requirements/$profile.txt"
  .venv/bin/pip install -q -r "requirements/$profile.txt"
  echo "$want" > "$stamp"
fi
