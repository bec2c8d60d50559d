#!/usr/bin/env bash
# Runs `bash -n` and the shellcheck linter over every shell script the project ships. Where the
# linter is not installed it runs `bash -n` only and says so in one line; with
# REQUIRE_SHELLCHECK=1 (set by .ci/run) a missing linter is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t scripts < <(git ls-files '*.sh' 'userdata/*.sh' 2>/dev/null; find userdata tools .ci -type f \( -name '*.sh' -o -name run \) 2>/dev/null)
mapfile -t scripts < <(printf '%s\n' "${scripts[@]}" | sort -u | grep -v '^$' || true)
if [ "${#scripts[@]}" -eq 0 ]; then
  echo "shellcheck: no scripts"
  exit 0
fi
for s in "${scripts[@]}"; do
  bash -n "$s"
done
if ! command -v shellcheck >/dev/null 2>&1; then
  if [ "${REQUIRE_SHELLCHECK:-0}" = "1" ]; then
    echo "shellcheck is not installed: apt-get install -y shellcheck" >&2
    exit 1
  fi
  echo "shellcheck: not installed, ${#scripts[@]} scripts only syntax-checked (apt-get install -y shellcheck to lint them)"
  exit 0
fi
shellcheck -x "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
