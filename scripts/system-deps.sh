#!/usr/bin/env bash
# Installs the Debian packages lead-mcp needs (and, with --test, what its tests need).
# Idempotent and quick when everything is there. Without apt-get (macOS, say) it prints
# the command that brings the same parts instead of failing.
set -euo pipefail

runtime=(tesseract-ocr-script-latn)
# chromium: the card page's browser test (driven by Playwright, no browser download); fonts for its screenshots
test_only=(chromium fonts-dejavu-core)
[[ "${1:-}" == "--test" ]] && want=("${runtime[@]}" "${test_only[@]}") || want=("${runtime[@]}")

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "lead-mcp: no apt-get here; install the OCR model yourself:" >&2
  echo "  brew install tesseract tesseract-lang   # then: export LEAD_MCP_TESSDATA_DIR=\"\$(brew --prefix)/share/tessdata/script\"" >&2
  exit 0
fi
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "lead-mcp: run as root to install: apt-get install -y ${missing[*]}" >&2; exit 1
  fi
fi
echo "lead-mcp: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || true
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
