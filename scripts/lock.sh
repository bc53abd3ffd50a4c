#!/usr/bin/env bash
# Regenerate requirements/constraints.txt from a clean virtualenv of requirements/dev.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --upgrade pip
: > "$tmp/empty.txt"
sed 's/^-c constraints.txt$//' requirements/base.txt > "$tmp/base.txt"
sed "s#^-r base.txt#-r $tmp/base.txt#" requirements/dev.txt > "$tmp/dev.txt"
"$tmp/venv/bin/pip" install -q -r "$tmp/dev.txt"
{ echo "# Full pin set produced by 'make lock' (pip freeze of a fresh .venv built from dev.txt)."
  "$tmp/venv/bin/pip" freeze | grep -v -E '^(pip|setuptools|wheel)=='; } > requirements/constraints.txt
rm -rf "$tmp"
echo "requirements/constraints.txt updated"
