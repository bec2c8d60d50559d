#!/usr/bin/env bash
# Runs `bash -n` and the shellcheck linter over every shell script the project ships.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t scripts < <(git ls-files '*.sh' 'userdata/*.sh' 2>/dev/null; find userdata tools .ci -type f \( -name '*.sh' -o -name run \) 2>/dev/null)
mapfile -t scripts < <(printf '%s\n' "${scripts[@]}" | sort -u | grep -v '^$' || true)
if [ "${#scripts[@]}" -eq 0 ]; then
  echo "shellcheck: no scripts"
  exit 0
fi
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "shellcheck is not installed: apt-get install -y shellcheck" >&2
  exit 1
fi
for s in "${scripts[@]}"; do
  bash -n "$s"
done
shellcheck -x "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
