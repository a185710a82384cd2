#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests and screenshots (Playwright's own download
# does not work here). Does nothing when /usr/bin/chromium is already present.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
else
    echo "install-chromium: $CHROMIUM is missing and this user cannot install packages (not root, no sudo)." >&2
    echo "install-chromium: install it with: apt-get install -y chromium" >&2
    exit 1
fi
echo "install-chromium: installing Debian's chromium package..." >&2
if ! { "${SUDO[@]}" apt-get update -q && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q chromium; }; then
    echo "install-chromium: 'apt-get install -y chromium' failed; the browser tests cannot run." >&2
    exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
    echo "install-chromium: the chromium package installed but $CHROMIUM is not there." >&2
    exit 1
fi
echo "install-chromium: $("$CHROMIUM" --version 2>/dev/null || echo chromium) ready." >&2
