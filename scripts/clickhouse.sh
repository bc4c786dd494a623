#!/usr/bin/env bash
# Starts, stops or checks a private clickhouse-server process on 127.0.0.1 with its own data directory, so that
# tests and .ci/run never touch a system-wide server. Installs nothing: clickhouse-server must be on PATH
# (Debian: apt-get install -y clickhouse-server clickhouse-client).
#
#   scripts/clickhouse.sh start  DIR HTTP_PORT   # returns once the HTTP interface answers (or fails after 30 s)
#   scripts/clickhouse.sh stop   DIR [HTTP_PORT] # SIGTERM, then SIGKILL after 10 s; waits for the process to exit
#   scripts/clickhouse.sh status DIR HTTP_PORT   # exit 0 if running and answering, 1 otherwise
#
# Only the HTTP interface is opened (the router and @clickhouse/client-web speak HTTP); no TCP or interserver
# port, so two servers never collide on a port nobody asked for. Data persists in DIR/data across stop/start.
set -euo pipefail

cmd="${1:-}"; dir="${2:-}"; port="${3:-}"
usage() { echo "usage: $0 start|stop|status DIR HTTP_PORT" >&2; exit 2; }
[[ -n "$cmd" && -n "$dir" ]] || usage

pidfile="$dir/clickhouse.pid"

server_bin() {
  if command -v clickhouse-server >/dev/null 2>&1; then command -v clickhouse-server
  elif [[ -x /usr/sbin/clickhouse-server ]]; then echo /usr/sbin/clickhouse-server
  else echo "clickhouse-server not found (apt-get install -y clickhouse-server)" >&2; exit 3; fi
}

answers() { curl -sf --max-time 2 "http://127.0.0.1:$1/ping" >/dev/null 2>&1; }

running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid; pid="$(cat "$pidfile")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

write_config() {
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/log"
  # Root element is <yandex> in ClickHouse 18.x (newer versions accept it too).
  cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>$dir/log/server.log</log>
    <errorlog>$dir/log/server.err.log</errorlog>
    <size>10M</size>
    <count>2</count>
  </logger>
  <http_port>$port</http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
EOF
  cat >"$dir/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF
}

case "$cmd" in
  start)
    [[ -n "$port" ]] || usage
    dir="$(mkdir -p "$dir" && cd "$dir" && pwd)"; pidfile="$dir/clickhouse.pid"
    if running_pid >/dev/null && answers "$port"; then echo "clickhouse already running on 127.0.0.1:$port"; exit 0; fi
    write_config
    bin="$(server_bin)"
    # setsid: the server must not die with the shell (or test worker) that started it, nor get its signals.
    setsid "$bin" --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 1 300); do
      if answers "$port"; then echo "clickhouse running on 127.0.0.1:$port (pid $(cat "$pidfile"), data $dir/data)"; exit 0; fi
      if ! running_pid >/dev/null; then echo "clickhouse exited during start; see $dir/log" >&2; tail -20 "$dir/log/server.err.log" >&2 2>/dev/null || true; exit 1; fi
      sleep 0.1
    done
    echo "clickhouse did not answer on 127.0.0.1:$port within 30 s; see $dir/log" >&2
    exit 1
    ;;
  stop)
    pid="$(running_pid || true)"
    if [[ -z "$pid" ]]; then echo "clickhouse not running (no live pid in $pidfile)"; exit 0; fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
    rm -f "$pidfile"
    echo "clickhouse stopped (pid $pid)"
    ;;
  status)
    [[ -n "$port" ]] || usage
    if running_pid >/dev/null && answers "$port"; then echo "running"; exit 0; fi
    echo "not running"; exit 1
    ;;
  *) usage ;;
esac
