#!/usr/bin/env bash
# Formats our C++ sources (*.h *.cc under core net proto shard tools bench tests, skipping
# build*/, .deps/ and node_modules/) with clang-format and the repo's .clang-format.
#   tools/format.sh           rewrite every file that differs, in place
#   tools/format.sh --check   change nothing; list the files that differ, exit 1 if any
# CLANG_FORMAT=clang-format-NN picks another binary (tools/setup.sh installs Debian 12's, 14).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
clang_format="${CLANG_FORMAT:-clang-format}"

check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *) echo "usage: tools/format.sh [--check]" >&2; exit 2 ;;
esac
command -v "$clang_format" >/dev/null 2>&1 ||
  { echo "format: $clang_format not found (tools/setup.sh deps installs it)" >&2; exit 2; }

files=()
while IFS= read -r -d '' f; do files+=("$f"); done < <(
  find core net proto shard tools bench tests \
    \( -type d \( -name 'build*' -o -name .deps -o -name node_modules \) -prune \) -o \
    \( -type f \( -name '*.h' -o -name '*.cc' \) -print0 \) | sort -z)

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
differ=()
for f in "${files[@]}"; do
  # --style=file: the .clang-format at the repo root.
  "$clang_format" --style=file "$f" >"$tmp" || { echo "format: clang-format failed on $f" >&2; exit 2; }
  cmp -s "$tmp" "$f" || differ+=("$f")
done

if [ "$check" -eq 1 ]; then
  if [ "${#differ[@]}" -gt 0 ]; then
    printf 'format: %s\n' "${differ[@]}"
    echo "format: ${#differ[@]} of ${#files[@]} files differ from .clang-format; run tools/format.sh" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files match .clang-format"
  exit 0
fi
if [ "${#differ[@]}" -gt 0 ]; then "$clang_format" --style=file -i "${differ[@]}"; fi
echo "format: rewrote ${#differ[@]} of ${#files[@]} files"
