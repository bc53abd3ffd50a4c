# Shared shell helpers for the scripts in this folder (sourced, not run).

# apt_install PKG...: install the Debian packages that are not installed yet.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "Warroom needs these Debian packages: ${missing[*]}" >&2
      echo "Install them as root (apt-get install ${missing[*]}) and run this again." >&2
      return 1
    fi
  fi
  echo "==> Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine has no package lists yet; an old list may name files gone from the mirror.
  # Another apt (unattended-upgrades, a second script) may hold the dpkg lock: wait for it.
  local lock=(-o DPkg::Lock::Timeout=300)
  $sudo apt-get "${lock[@]}" update -q >/dev/null || true
  $sudo apt-get "${lock[@]}" install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}
