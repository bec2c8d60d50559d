#!/usr/bin/env bash
# Every 10 s: reads each vLLM server's /metrics and sends the queue gauges to CloudWatch as
# high-resolution metrics (StorageResolution 1) for 10 s scaling alarms. Names and dimensions are
# rendered from lib/contracts/metrics.ts. `--once` publishes one sample and exits.
# shellcheck disable=SC1083
set -uo pipefail

NAMESPACE={{NAMESPACE}}
REGION={{AWS_REGION}}
ASG_NAME={{ASG_NAME}}
FLEET={{FLEET_NAME}}
PORTS=({{SERVER_PORTS}})
INTERVAL_SECONDS={{INTERVAL_SECONDS}}
DIMENSION_ASG={{DIMENSION_ASG}}
DIMENSION_FLEET={{DIMENSION_FLEET}}
METRIC_WAITING={{METRIC_WAITING}}
SOURCE_WAITING={{SOURCE_WAITING}}
METRIC_RUNNING={{METRIC_RUNNING}}
SOURCE_RUNNING={{SOURCE_RUNNING}}
METRIC_KV_CACHE={{METRIC_KV_CACHE}}
SOURCE_KV_CACHE={{SOURCE_KV_CACHE}}

log() { printf '%s publisher[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$FLEET" "$*"; }

# Sum of one Prometheus series over all its label sets (e.g. one per model_name), read from stdin.
gauge() {
  awk -v name="$1" '
    index($0, name "{") == 1 || index($0, name " ") == 1 { sum += $NF; found = 1 }
    END { if (!found) exit 1; printf "%.6g", sum }'
}

# One metric datum as JSON.
datum() {
  printf '{"MetricName":"%s","Dimensions":[{"Name":"%s","Value":"%s"},{"Name":"%s","Value":"%s"}],"Value":%s,"Unit":"%s","StorageResolution":1}' \
    "$1" "$DIMENSION_ASG" "$ASG_NAME" "$DIMENSION_FLEET" "$FLEET" "$2" "$3"
}

# Reads every server; publishes nothing unless all of them answer, so an instance that is still
# loading does not pull the fleet's per-instance average down. Queue gauges add up over the
# servers of an instance; KV-cache usage is the fullest server's (each has its own memory share).
publish_once() {
  local waiting=0 running=0 kv=0 port body w r k
  for port in "${PORTS[@]}"; do
    if ! body=$(curl -sf --max-time 3 "http://127.0.0.1:${port}/metrics"); then
      return 1
    fi
    w=$(gauge "$SOURCE_WAITING" <<<"$body") || return 1
    r=$(gauge "$SOURCE_RUNNING" <<<"$body") || return 1
    k=$(gauge "$SOURCE_KV_CACHE" <<<"$body") || k=0
    read -r waiting running kv < <(awk -v a="$waiting" -v b="$w" -v c="$running" -v d="$r" -v e="$kv" -v f="$k" \
      'BEGIN { printf "%.6g %.6g %.6g\n", a + b, c + d, (f > e ? f : e) }')
  done
  aws cloudwatch put-metric-data --region "$REGION" --namespace "$NAMESPACE" --metric-data \
    "[$(datum "$METRIC_WAITING" "$waiting" Count),$(datum "$METRIC_RUNNING" "$running" Count),$(datum "$METRIC_KV_CACHE" "$kv" None)]"
}

if [ "${1:-}" = "--once" ]; then
  publish_once
  exit
fi

log "publishing ${METRIC_WAITING}, ${METRIC_RUNNING}, ${METRIC_KV_CACHE} every ${INTERVAL_SECONDS} s to ${NAMESPACE}"
failing=false
while true; do
  if publish_once; then
    if [ "$failing" = true ]; then
      log "publishing again"
      failing=false
    fi
  elif [ "$failing" = false ]; then
    log "a server did not answer /metrics or PutMetricData failed; retrying every ${INTERVAL_SECONDS} s"
    failing=true
  fi
  # Align to the interval so each 10 s alarm period gets one datapoint per instance.
  sleep $((INTERVAL_SECONDS - $(date +%s) % INTERVAL_SECONDS))
done
