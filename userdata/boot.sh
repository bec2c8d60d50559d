#!/usr/bin/env bash
# Boot script of one GPU fleet instance. lib/userdata/render.ts fills every double-braced placeholder with a
# shell-quoted value from the validated config at synth; the template itself is never run.
# shellcheck disable=SC1083
set -euo pipefail

FLEET={{FLEET_NAME}}
REGION={{AWS_REGION}}
VLLM_IMAGE={{VLLM_IMAGE}}
HF_TOKEN_SECRET_NAME={{HF_TOKEN_SECRET_NAME}}
# true when a served model is gated: boot fails without the token.
HF_TOKEN_REQUIRED={{HF_TOKEN_REQUIRED}}
# Servers in start order (the router runs scorer, then embedding) and their ports.
SERVER_ROLES=({{SERVER_ROLES}})
SERVER_PORTS=({{SERVER_PORTS}})
# Image pull plus weight download and load, counted from the start of this script: the fleet's
# health-check grace, which is also how long CloudFormation waits for this instance's signal.
HEALTH_WAIT_SECONDS={{HEALTH_WAIT_SECONDS}}
# Where the boot's success or failure is signalled: stack creation and rolling updates wait for it.
STACK_NAME={{STACK_NAME}}
SIGNAL_RESOURCE={{SIGNAL_RESOURCE}}

# Tests point this at a scratch directory; on an instance it is unset (the real root).
ROOT="${LLM_TIER_ROUTER_ROOT:-}"
CONF_DIR=/etc/llm-tier-router
LOG_DIR=/var/log/llm-tier-router
NVME_DIR=/opt/dlami/nvme

mkdir -p "${ROOT}${LOG_DIR}" "${ROOT}${CONF_DIR}"
exec > >(tee -a "${ROOT}${LOG_DIR}/boot.log") 2>&1
log() { printf '%s boot[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$FLEET" "$*"; }
trap 'log "FAILED at line ${LINENO} (exit $?)"' ERR
BOOT_DEADLINE=$((SECONDS + HEALTH_WAIT_SECONDS))
INSTANCE_ID=""

# Sends this instance's boot result to CloudFormation, once. Outside a stack operation (an instance a
# scaling policy launched) nothing waits for it: the call is refused, which is logged and harmless.
signalled=false
signal() {
  signalled=true
  if aws cloudformation signal-resource --stack-name "$STACK_NAME" --logical-resource-id "$SIGNAL_RESOURCE" \
    --unique-id "${INSTANCE_ID:-$(hostname)}" --status "$1" --region "$REGION"; then
    log "signalled $1 to ${STACK_NAME}/${SIGNAL_RESOURCE}"
  else
    log "signal $1 not taken (error above): normal for an instance a scaling policy launched, as no stack operation waits for it"
  fi
}
# Any failed step (set -e, or an explicit exit) fails a waiting stack operation at once instead of
# letting it time out; a rolling update then rolls back and keeps the healthy instances.
on_exit() {
  local status=$?
  if [ "$status" -ne 0 ] && [ "$signalled" = false ]; then
    log "boot failed (exit ${status})"
    signal FAILURE
  fi
}
trap on_exit EXIT

# Writes one file under ROOT with the given mode.
install_file() {
  local mode="$1" path="$2" content="$3"
  mkdir -p "$(dirname "${ROOT}${path}")"
  printf '%s' "$content" >"${ROOT}${path}"
  chmod "$mode" "${ROOT}${path}"
}

# Succeeds once the server on port $1 answers GET /health with 200; fails at the boot deadline.
wait_healthy() {
  local port="$1"
  until curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:${port}/health"; do
    if ((SECONDS >= BOOT_DEADLINE)); then
      return 1
    fi
    sleep 10
  done
}

log "starting: fleet ${FLEET}, servers ${SERVER_ROLES[*]}"

# IMDSv2 (the launch template requires tokens).
imds_token=$(curl -sSf --retry 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)
INSTANCE_ID=$(curl -sSf --retry 5 -H "X-aws-ec2-metadata-token: ${imds_token}" http://169.254.169.254/latest/meta-data/instance-id)

# Instance NVMe (mounted by the DLAMI, wiped on stop) is the fastest place for the weights.
if [ -d "${ROOT}${NVME_DIR}" ]; then
  CACHE_DIR="${NVME_DIR}/huggingface"
else
  CACHE_DIR=/var/lib/llm-tier-router/huggingface
fi
mkdir -p "${ROOT}${CACHE_DIR}"
log "instance ${INSTANCE_ID}, model cache ${CACHE_DIR}"
install_file 0644 "${CONF_DIR}/runtime.env" "INSTANCE_ID=${INSTANCE_ID}
HF_CACHE_DIR=${CACHE_DIR}
"

# The Hugging Face token is read by name at boot and kept in a root-only file, never in user data.
hf_token=""
if hf_token=$(aws secretsmanager get-secret-value --region "$REGION" --secret-id "$HF_TOKEN_SECRET_NAME" --query SecretString --output text); then
  if [[ ! "$hf_token" =~ ^[A-Za-z0-9_.-]+$ ]]; then
    log "secret ${HF_TOKEN_SECRET_NAME} is not a plain Hugging Face token"
    exit 1
  fi
elif [ "$HF_TOKEN_REQUIRED" = true ]; then
  log "cannot read secret ${HF_TOKEN_SECRET_NAME}: a served model is gated"
  exit 1
else
  log "no Hugging Face token (secret ${HF_TOKEN_SECRET_NAME} unreadable); the served models are not gated"
  hf_token=""
fi
install_file 0600 "${CONF_DIR}/hf-token.env" "HF_TOKEN=${hf_token}
"
unset hf_token

# Launch scripts and systemd units, as (mode, path, content) triples rendered from userdata/.
INSTALL_FILES=({{INSTALL_FILES}})
for ((i = 0; i < ${#INSTALL_FILES[@]}; i += 3)); do
  install_file "${INSTALL_FILES[i]}" "${INSTALL_FILES[i + 1]}" "${INSTALL_FILES[i + 2]}"
done

log "pulling ${VLLM_IMAGE}"
for attempt in 1 2 3 4 5; do
  if docker pull --quiet "$VLLM_IMAGE"; then
    break
  fi
  if [ "$attempt" -eq 5 ]; then
    log "docker pull failed 5 times"
    exit 1
  fi
  sleep 15
done

systemctl daemon-reload
systemctl enable --now log-shipper@boot.service log-shipper@publisher.service

# One after the other: each server sizes its KV cache from the GPU memory left when it starts.
for i in "${!SERVER_ROLES[@]}"; do
  role="${SERVER_ROLES[$i]}"
  port="${SERVER_PORTS[$i]}"
  log "starting vLLM ${role} server on port ${port}"
  systemctl enable --now "vllm@${role}.service"
  if ! wait_healthy "$port"; then
    log "vLLM ${role} server not healthy ${HEALTH_WAIT_SECONDS} s into the boot; the load balancer health check will replace this instance"
    exit 1
  fi
  log "vLLM ${role} server healthy"
done

systemctl enable --now llm-metrics-publisher.service
# Last step: every server answered /health, so this instance may replace a healthy one.
signal SUCCESS
log "boot complete"
