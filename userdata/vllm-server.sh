#!/usr/bin/env bash
# Runs one vLLM server in docker (ExecStart of vllm@<role>.service). Rendered per server by
# lib/userdata/render.ts; INSTANCE_ID, HF_CACHE_DIR and HF_TOKEN come from the unit's environment files.
# shellcheck disable=SC1083
set -euo pipefail

ROLE={{ROLE}}
PORT={{PORT}}
VLLM_IMAGE={{VLLM_IMAGE}}
REGION={{AWS_REGION}}
LOG_GROUP={{LOG_GROUP_NAME}}
# Longer than the load balancer's idle timeout, so the ALB never reuses a connection vLLM closed.
KEEP_ALIVE_SECONDS={{KEEP_ALIVE_SECONDS}}
# Port of the server that must be healthy before this one starts; empty for the first server.
AFTER_PORT={{AFTER_PORT}}
VLLM_ARGS=({{VLLM_ARGS}})

: "${INSTANCE_ID:?set by runtime.env}" "${HF_CACHE_DIR:?set by runtime.env}"

if [ -n "$AFTER_PORT" ]; then
  until curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:${AFTER_PORT}/health"; do
    sleep 10
  done
fi

docker rm -f "vllm-${ROLE}" >/dev/null 2>&1 || true
exec docker run --rm --name "vllm-${ROLE}" \
  --runtime nvidia --gpus all --ipc=host \
  -p "${PORT}:${PORT}" \
  -v "${HF_CACHE_DIR}:/root/.cache/huggingface" \
  -e HF_TOKEN \
  -e "VLLM_HTTP_TIMEOUT_KEEP_ALIVE=${KEEP_ALIVE_SECONDS}" \
  --log-driver awslogs \
  --log-opt "awslogs-region=${REGION}" \
  --log-opt "awslogs-group=${LOG_GROUP}" \
  --log-opt "awslogs-stream=${INSTANCE_ID}/vllm-${ROLE}" \
  "$VLLM_IMAGE" "${VLLM_ARGS[@]}"
