#!/usr/bin/env bash
# MQTT in (issue 16): samples/s a tagstream server ingests through its
# [[mqtt]] connector from a mosquitto broker on the same machine, and the
# latency from an MQTT publish to the SSE event, beside the broker's own
# delivery to a plain subscriber in the same run.
#
#   bench/mqtt.sh            3 rounds (about 3 minutes)
#   bench/mqtt.sh --short    1 round with fewer messages (about 1 minute)
#
# Each round runs tagstream-bench mqtt:
#   throughput  QoS 0 and QoS 1, one topic and 1,000 topics: --messages values
#               published as fast as the broker takes them, timed from the
#               first publish until /api/stats samplesTotal has grown by as many
#   latency     10,000 msg/s for --seconds at QoS 0 to one topic; a plain MQTT
#               subscriber and an SSE stream (interval raw) of the tag side by
#               side; p50/p99 of both and of the per-message difference
#               ("added": what tagstream adds over the broker's own delivery)
#               The server runs with --data-check-interval 0 (every change sent
#               at once, no coalescing window) and the connector subscribes at QoS 1.
# and prints one Markdown table with the medians over the rounds.
#
# Options:
#   --short             1 round, 50,000 messages per throughput run, 3 s of latency
#   --rounds N          rounds (default 3; --short 1)
#   --messages N        messages per throughput run (default 200000)
#   --seconds S         latency run length (default 5)
#   --build-dir DIR     build (or reuse) tagstream and tagstream-bench in DIR (default build)
#   --out FILE          also write the report (Markdown) to FILE
#
# mosquitto and tagstream listen on free 127.0.0.1 ports with their files in
# a temporary directory; on exit the script stops both and removes it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

short=0
build_dir=build
rounds=
messages=
seconds=
out_file=
while (($#)); do
  case $1 in
    --short) short=1 ;;
    --rounds) rounds=$2; shift ;;
    --messages) messages=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    --out) out_file=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "mqtt.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if ((short)); then
  : "${rounds:=1}" "${messages:=50000}" "${seconds:=3}"
else
  : "${rounds:=3}" "${messages:=200000}" "${seconds:=5}"
fi
[[ $rounds =~ ^[1-9][0-9]?$ ]] || { echo "mqtt.sh: --rounds must be 1..99" >&2; exit 2; }
[[ $messages =~ ^[1-9][0-9]{0,6}$ ]] || { echo "mqtt.sh: --messages must be 1..9999999" >&2; exit 2; }
[[ $seconds =~ ^[1-9][0-9]{0,2}$ ]] || { echo "mqtt.sh: --seconds must be 1..999" >&2; exit 2; }

source "$ROOT/bench/common.sh"

need=()
[[ -x /usr/sbin/mosquitto ]] || need+=(mosquitto)
command -v curl >/dev/null || need+=(curl)
install_without_services "${need[@]}"

build_bench_binaries mqtt

work=$(mktemp -d /tmp/tagstream-mqtt.XXXXXX)
raw=$work/raw
mkdir -p "$raw"

broker_port=$(free_port)
{
  echo "listener $broker_port 127.0.0.1"
  echo "allow_anonymous true"
  echo "max_queued_messages 1000000"
  echo "log_dest file $work/mosquitto.log"
  if [[ $(id -u) -eq 0 ]]; then echo "user root"; fi
} >"$work/mosquitto.conf"
/usr/sbin/mosquitto -c "$work/mosquitto.conf" &
pids+=("$!")
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$broker_port") 2>/dev/null && break; sleep 0.1; done

cat >"$work/tagstream.toml" <<TOML
[[mqtt]]
name = "bench"
port = $broker_port
qos = 1
[[mqtt.subscription]]
topic = "bench/+"
tag = "{1}"
TOML
srv_port=$(free_port)
"$tagstream" serve --no-simulator --data-dir "$work/data" --listen "127.0.0.1:$srv_port" --log-level warn \
  --data-check-interval 0 \
  --config "$work/tagstream.toml" >"$work/tagstream.log" 2>&1 &
pid=$!
pids+=("$pid")
wait_until_up tagstream "http://127.0.0.1:$srv_port/healthz" "$pid" "$work/tagstream.log"
log "mosquitto on 127.0.0.1:$broker_port, tagstream on 127.0.0.1:$srv_port"

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

runs=("0 1" "0 1000" "1 1" "1 1000")
for ((r = 1; r <= rounds; r++)); do
  for run in "${runs[@]}"; do
    read -r qos topics <<<"$run"
    log "round $r: throughput qos $qos, $topics topics, $messages messages"
    "$bench" mqtt --mode throughput --broker-port "$broker_port" --server-port "$srv_port" --qos "$qos" \
      --topics "$topics" --messages "$messages" >"$raw/t-$qos-$topics-$r.out" || true
    result "$raw/t-$qos-$topics-$r.out" samples_per_s >>"$raw/t-$qos-$topics.values"
    result "$raw/t-$qos-$topics-$r.out" ingested >>"$raw/t-$qos-$topics.ingested"
  done
  log "round $r: latency at 10,000 msg/s for $seconds s"
  "$bench" mqtt --mode latency --broker-port "$broker_port" --server-port "$srv_port" --qos 0 --rate 10000 \
    --seconds "$seconds" >"$raw/lat-$r.out"
  for k in broker_p50_us broker_p99_us sse_p50_us sse_p99_us added_p50_us added_p99_us sse_got published; do
    result "$raw/lat-$r.out" "$k" >>"$raw/lat-$k.values"
  done
done

report=$work/report.md
{
  echo "### MQTT in ($(date -u +%Y-%m-%d), $rounds round(s), $build_type build, $(nproc) cores shared by mosquitto, tagstream and the load generator)"
  echo
  echo "Throughput: $messages number payloads per run published by one libmosquitto client as fast as the broker takes them; timed until tagstream's samplesTotal grew by as many. Medians over the rounds."
  echo
  echo "| QoS | topics | samples/s | ingested (last round) |"
  echo "|---:|---:|---:|---:|"
  for run in "${runs[@]}"; do
    read -r qos topics <<<"$run"
    printf '| %s | %s | %.0f | %s |\n' "$qos" "$topics" "$(median <"$raw/t-$qos-$topics.values")" \
      "$(tail -1 "$raw/t-$qos-$topics.ingested")/$messages"
  done
  echo
  echo "Latency: 10,000 msg/s for $seconds s at QoS 0 to one topic; receivers side by side: a plain MQTT subscriber (the broker's own delivery) and an SSE stream of the tag (interval raw). Microseconds, medians over the rounds."
  echo
  echo "| | p50 us | p99 us |"
  echo "|---|---:|---:|"
  printf '| publish -> MQTT subscriber (broker) | %.0f | %.0f |\n' "$(median <"$raw/lat-broker_p50_us.values")" \
    "$(median <"$raw/lat-broker_p99_us.values")"
  printf '| publish -> SSE event (tagstream) | %.0f | %.0f |\n' "$(median <"$raw/lat-sse_p50_us.values")" \
    "$(median <"$raw/lat-sse_p99_us.values")"
  printf '| added by tagstream (per message) | %.0f | %.0f |\n' "$(median <"$raw/lat-added_p50_us.values")" \
    "$(median <"$raw/lat-added_p99_us.values")"
  echo
  echo "SSE events received: $(tail -1 "$raw/lat-sse_got.values") of $(tail -1 "$raw/lat-published.values") published (last round)."
} >"$report"
echo
cat "$report"
if [[ -n $out_file ]]; then cp "$report" "$out_file"; fi
