#!/usr/bin/env bash
# Install the Debian packages the tests use, unless they are there already: chromium (the browser
# test, tests/test_browser.py) and opencv-doc (real photographs and videos under
# /usr/share/doc/opencv-doc/examples/data: the motion curriculum's backgrounds, its tests and benchmarks).
set -euo pipefail
wanted=()
command -v chromium >/dev/null 2>&1 || wanted+=(chromium)
[ -f /usr/share/doc/opencv-doc/examples/data/vtest.avi ] || wanted+=(opencv-doc)
if [ "${#wanted[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "setup: cannot install ${wanted[*]} (needs root or sudo): the tests that need them will be skipped" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: no apt-get here; install ${wanted[*]} yourself for the tests that need them" >&2
  exit 0
fi
echo "setup: installing Debian's ${wanted[*]}"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
