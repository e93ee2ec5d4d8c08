#!/usr/bin/env bash
# Generates the API reference of voxgrad's public headers with Doxygen
# (Debian's doxygen; scripts/install-deps.sh installs it):
#   scripts/docs.sh [OUT_DIR]     # default build/docs; open OUT_DIR/html/index.html
# The settings are docs/Doxyfile; the input is the public headers (what
# install() copies: cmake/internal_headers.cmake) and README.md as the main
# page. Fails, listing them, when a public class or struct has no
# documentation comment (Doxygen's "Compound ... is not documented"); other
# warnings (mostly undocumented members) are counted and kept in
# OUT_DIR/warnings.txt. ctest runs this as `api_reference` when CMake finds
# doxygen.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(realpath -m "${1:-$root/build/docs}")"
command -v doxygen >/dev/null ||
  { echo "docs.sh: doxygen not found (scripts/install-deps.sh installs it)" >&2; exit 1; }

cd "$root"
mapfile -t headers < <(cmake -DROOT="$root" -P cmake/print_public_headers.cmake)
[ "${#headers[@]}" -gt 0 ] || { echo "docs.sh: no public headers found" >&2; exit 1; }
rm -rf "$out/html"
mkdir -p "$out"
warnings="$out/warnings.txt"
{
  cat docs/Doxyfile
  echo "INPUT = README.md ${headers[*]}"
  echo "OUTPUT_DIRECTORY = $out"
  echo "WARN_LOGFILE = $warnings"
} | doxygen - >/dev/null

undocumented="$(grep -E 'warning: (Compound|[Cc]lass|[Ss]truct|[Uu]nion) .* is not documented' "$warnings" || true)"
count_all="$(grep -c 'warning:' "$warnings" || true)"
if [ -n "$undocumented" ]; then
  echo "docs.sh: public classes without a documentation comment (/// before the class):" >&2
  echo "$undocumented" >&2
  exit 1
fi
echo "docs.sh: API reference of ${#headers[@]} public headers in $out/html/index.html" \
  "(every public class documented; $count_all other warnings in $warnings)"
