#!/usr/bin/env bash
# Checks the house rules on every C++ source git knows of (build outputs, runs and fetched
# dependencies are ignored by git; generated files, whose first line says so, are skipped):
#   - no file over 400 lines;
#   - no function over 80 lines, measured by lizard (installed into $AHA_VENV when missing);
#   - each folder includes only the folders docs/architecture.md allows it;
#   - clang-format 14 (Debian 12's) finds nothing to change; AHA_STYLE_FORMAT=0 skips this.
# Prints file:line and what is wrong for each problem and exits 1, or one line when all is fine.
set -euo pipefail
cd "$(dirname "$0")/.."

AHA_VENV="${AHA_VENV:-$HOME/.cache/aha/venv}"
LIZARD_VERSION="1.24.3"
MAX_FILE_LINES=400
MAX_FUNCTION_LINES=80

if [ "$("$AHA_VENV/bin/lizard" --version 2>/dev/null)" != "$LIZARD_VERSION" ]; then
  echo "==> Installing lizard==$LIZARD_VERSION into $AHA_VENV"
  [ -x "$AHA_VENV/bin/python" ] || python3 -m venv "$AHA_VENV"
  "$AHA_VENV/bin/pip" install --quiet "lizard==$LIZARD_VERSION"
fi

files=()
while IFS= read -r file; do
  [ -f "$file" ] && ! head -n 1 "$file" | grep -q '^// Generated .*do not edit' && files+=("$file")
done < <(git ls-files --cached --others --exclude-standard -- '*.cpp' '*.hpp' '*.cu' '*.cuh' '*.h' '*.inc' | sort -u)
[ ${#files[@]} -gt 0 ] || { echo "style: no C++ sources found; run it in a git checkout"; exit 1; }

problems=0
report() { [ -z "$1" ] || { echo "$1"; problems=$((problems + $(grep -c . <<<"$1"))); }; }

report "$(wc -l "${files[@]}" |
  awk -v max=$MAX_FILE_LINES '$2 != "total" && $1 > max { print $2 ":" max + 1 ": " $1 " lines, over " max }')"

status=0
long=$("$AHA_VENV/bin/lizard" -L $MAX_FUNCTION_LINES -C 1000 -w "${files[@]}") || status=$?
[ $status -le 1 ] || { echo "lizard failed (exit status $status)"; exit 1; }
over="lines long, over $MAX_FUNCTION_LINES"
report "$(sed -E "s/^([^:]+:[0-9]+): warning: (.*) has .* ([0-9]+) length, .*/\1: \2 is \3 $over/" <<<"$long")"

# Dependency rules: a folder includes headers of the folders listed for it and of no others;
# core, rewards and records include no LibTorch header.
declare -A may_include=(
  [core]="" [kernels]="" [policy]="core kernels" [rollout]="core kernels policy" [rewards]="core"
  [records]="core" [datasets]="core policy rewards" [rl]="core kernels policy rollout rewards records datasets"
  [cli]="core kernels policy rollout rewards records datasets rl")
for folder in "${!may_include[@]}"; do
  allowed="$folder ${may_include[$folder]}"
  while IFS=: read -r file line include; do
    used=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$include")
    [[ " $allowed " == *" $used "* ]] || [ ! -d "$used" ] ||
      report "$file:$line: $folder/ may not include $used/ (docs/architecture.md)"
  done < <(git grep -n -E '^#include "[a-z_]+/' -- "$folder/" || true)
done
for folder in core rewards records; do
  report "$(git grep -n -E '^#include <(torch|ATen|c10)/' -- "$folder/" | sed -E "s|^([^:]+:[0-9]+):(.*)|\\1: \\2 is LibTorch, which $folder/ may not include|")"
done

format="clang-format clean"
if [ "${AHA_STYLE_FORMAT:-1}" = 0 ]; then
  format="clang-format not checked (AHA_STYLE_FORMAT=0)"
elif [[ "$(clang-format --version 2>/dev/null)" != *"version 14."* ]]; then
  format="clang-format not checked (clang-format 14 is not on the PATH)"
elif ! out=$(clang-format --dry-run -Werror --ferror-limit=1 "${files[@]}" 2>&1); then
  unformatted=$(sed -nE 's/^(.*:[0-9]+:[0-9]+): error: code should be clang-formatted.*/\1: not clang-formatted/p' \
    <<<"$out")
  report "${unformatted:-$out}"
fi

if [ $problems -gt 0 ]; then
  echo "style: $problems problem(s) in the ${#files[@]} files checked"
  exit 1
fi
echo "style: ${#files[@]} files within $MAX_FILE_LINES lines, functions within $MAX_FUNCTION_LINES lines," \
  "folders within their dependency rules, $format"
