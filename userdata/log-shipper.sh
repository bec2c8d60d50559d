#!/usr/bin/env bash
# Ships one log file of /var/log/llm-tier-router to CloudWatch Logs (ExecStart of
# log-shipper@<name>.service): `tail -F` in the already pulled vLLM image, with docker's awslogs
# log driver doing the sending, because the DLAMI has no CloudWatch agent.
# shellcheck disable=SC1083
set -euo pipefail

VLLM_IMAGE={{VLLM_IMAGE}}
REGION={{AWS_REGION}}
LOG_GROUP={{LOG_GROUP_NAME}}
NAME="${1:-}"

case "$NAME" in
  boot | publisher) ;;
  *)
    echo "log-shipper: got '${NAME}', expected boot or publisher" >&2
    exit 2
    ;;
esac
: "${INSTANCE_ID:?set by runtime.env}"

docker rm -f "log-shipper-${NAME}" >/dev/null 2>&1 || true
exec docker run --rm --name "log-shipper-${NAME}" --network none \
  -v /var/log/llm-tier-router:/logs:ro \
  --log-driver awslogs \
  --log-opt "awslogs-region=${REGION}" \
  --log-opt "awslogs-group=${LOG_GROUP}" \
  --log-opt "awslogs-stream=${INSTANCE_ID}/${NAME}" \
  --entrypoint tail \
  "$VLLM_IMAGE" -n +1 -F "/logs/${NAME}.log"
