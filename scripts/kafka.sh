#!/usr/bin/env bash
# Bring up a real, single-node Apache Kafka (KRaft) broker on 127.0.0.1 for
# model-auditor's integration tests.  Kafka comes as plain jars from Maven
# Central (scripts/kafka/pom.xml), so only Java 17+, Maven and python3 are
# needed; kcat is used for the readiness probe when it is installed.
#
# Run `scripts/kafka.sh --help` for the interface.
set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR
readonly POM="$SCRIPT_DIR/kafka/pom.xml"
readonly KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
readonly CACHE_DIR=${KAFKA_CACHE_DIR:-${MODEL_AUDITOR_CACHE:-$HOME/.cache/model-auditor}/kafka}
readonly DEFAULT_LIBS="$CACHE_DIR/libs-$KAFKA_VERSION"
readonly START_TIMEOUT=${KAFKA_START_TIMEOUT:-60}
readonly STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}
readonly MARKER=".model-auditor-kafka"   # marks a state dir made by this script
if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
  readonly JAVA="$JAVA_HOME/bin/java"
else
  readonly JAVA=java
fi

usage() {
  cat <<EOF
usage: scripts/kafka.sh COMMAND [ARGS]

Runs a real single-node Apache Kafka $KAFKA_VERSION broker (KRaft, combined
broker+controller, PLAINTEXT on 127.0.0.1) for integration tests.

Commands:
  fetch
      Download Kafka's runtime jars from Maven Central (mvn + scripts/kafka/pom.xml)
      into \$KAFKA_CACHE_DIR/libs-\$KAFKA_VERSION.  A no-op when already cached.
      Prints the libs directory on stdout.
  start [--sasl-ssl] [DIR]
      Fetch if needed, make a state dir (DIR, or a fresh
      \${TMPDIR:-/tmp}/model-auditor-kafka.XXXXXX), pick two free ports, format
      storage, start the broker and wait (<= \$KAFKA_START_TIMEOUT s) until it
      answers a metadata request.  stdout gets exactly two lines, for
      eval "\$(scripts/kafka.sh start)":
          KAFKA_BOOTSTRAP=127.0.0.1:PORT
          KAFKA_STATE_DIR=/path/to/state
      The same lines plus KAFKA_LIBS=... are in DIR/env (source it with set -a).
      On failure: prints the tail of DIR/broker.log to stderr, exits 1.
      --sasl-ssl adds a SASL_SSL listener (SCRAM-SHA-512 over TLS) on a third
      port beside PLAINTEXT (which admin tools keep using): openssl makes a CA
      and a broker certificate for IP 127.0.0.1 in DIR/tls, and the SCRAM user
      is created at format time (kafka-storage format --add-scram).  Four more
      lines follow the two above:
          KAFKA_SASL_SSL_BOOTSTRAP=127.0.0.1:PORT3
          KAFKA_SASL_USERNAME=auditor
          KAFKA_SASL_PASSWORD_FILE=DIR/tls/sasl-password   (mode 0600)
          KAFKA_CA_FILE=DIR/tls/ca.crt
  create-topic STATE_DIR|BOOTSTRAP NAME PARTITIONS
      Create a topic (replication factor 1, --if-not-exists) and wait until all
      its partitions have a leader.  Fails if NAME exists with another count.
  stop STATE_DIR
      SIGTERM the broker, SIGKILL after \$KAFKA_STOP_TIMEOUT s; then remove
      STATE_DIR unless KEEP_KAFKA_STATE=1.
  kill9 STATE_DIR      SIGKILL the broker (state dir kept; use restart/stop).
  restart STATE_DIR    Stop the broker if it runs (SIGTERM), start it again on
                       the same ports and data (no re-format), wait until ready;
                       prints the same two lines as start.
  pause STATE_DIR      SIGSTOP the broker (clients see it hang).
  resume STATE_DIR     SIGCONT it.
  status STATE_DIR     Print running|paused|stopped (exit 0 if running or paused,
                       3 if stopped).
  tool STATE_DIR|BOOTSTRAP CLASS [ARGS...]
      Run a Kafka admin tool class with "--bootstrap-server BOOTSTRAP" prepended
      to ARGS, e.g.  tool \$KAFKA_STATE_DIR org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --describe --group g
  -h, --help           This text.

Environment:
  KAFKA_VERSION            Kafka version to fetch/run (default 4.1.1).
  MODEL_AUDITOR_CACHE      Cache root (default \$HOME/.cache/model-auditor);
  KAFKA_CACHE_DIR          or the Kafka cache dir directly (default \$MODEL_AUDITOR_CACHE/kafka).
  KAFKA_HEAP_OPTS          Broker heap (default "-Xmx512m -Xms256m").
  KAFKA_JVM_PERFORMANCE_OPTS  Broker GC/JIT options (default G1, 20 ms pauses).
  KAFKA_OPTS               Extra broker JVM options.
  KAFKA_START_TIMEOUT      Seconds to wait for readiness (default 60).
  KAFKA_STOP_TIMEOUT       Seconds to wait for a clean shutdown (default 30).
  KEEP_KAFKA_STATE=1       stop keeps the state dir.
  JAVA_HOME                Java 17+ to use (default: java on PATH).

Files in a state dir: server.properties, log4j2.xml, data/ (log.dirs),
broker.log (all broker output), broker.pid, env.
EOF
}

log() { printf '[kafka.sh] %s\n' "$*" >&2; }
die() { printf '[kafka.sh] error: %s\n' "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- fetch ----

libs_complete() {  # libs dir -> 0 if fetched from the current pom
  local libs=$1 want
  want="$KAFKA_VERSION $(sha256sum "$POM" | cut -c1-64)"
  [[ -f $libs/.fetched && $(<"$libs/.fetched") == "$want" ]]
}

cmd_fetch() {
  ensure_fetched
  printf '%s\n' "$DEFAULT_LIBS"
}

ensure_fetched() {
  local libs=$DEFAULT_LIBS
  libs_complete "$libs" && return 0
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  mkdir -p "$CACHE_DIR"
  (
    # Serialise concurrent fetches (parallel test runs).
    flock 9
    libs_complete "$libs" && exit 0
    local t0 tmp rc=0
    t0=$(now_ms)
    tmp="$libs.tmp.$$"
    rm -rf "$tmp"
    log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $libs"
    # Maven's output goes to stderr (stdout is for results), minus the colour
    # escapes that `mvn -q -B` still prints.
    set +e
    mvn -q -B -ntp -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$tmp" 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g' >&2
    rc=${PIPESTATUS[0]}
    set -e
    if ((rc != 0)) || [[ ! -f $tmp/kafka_2.13-$KAFKA_VERSION.jar ]]; then
      rm -rf "$tmp"
      die "mvn could not fetch Kafka $KAFKA_VERSION (exit $rc)"
    fi
    rm -rf "$libs"
    printf '%s %s\n' "$KAFKA_VERSION" "$(sha256sum "$POM" | cut -c1-64)" >"$tmp/.fetched"
    mv "$tmp" "$libs"
    log "fetched $(find "$libs" -name '*.jar' | wc -l) jars in $(( $(now_ms) - t0 ))ms"
  ) 9>"$CACHE_DIR/.fetch.lock"
}

# ---------------------------------------------------------------- helpers --

# N (default 2) distinct free TCP ports on 127.0.0.1 (all held while choosing).
free_ports() {
  python3 - "${1:-2}" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# A Kafka cluster id: 16 random bytes, URL-safe base64 without padding
# (what `kafka-storage random-uuid` prints), never starting with '-'.
cluster_id() {
  python3 - <<'EOF'
import base64, uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"):
        print(s)
        break
EOF
}

state_dir_arg() {  # validate + absolutise a STATE_DIR argument
  local d=${1:-}
  [[ -n $d ]] || die "missing STATE_DIR argument"
  [[ -d $d ]] || die "no such state dir: $d"
  [[ -f $d/server.properties && -f $d/$MARKER ]] || die "$d is not a state dir made by kafka.sh start"
  (cd "$d" && pwd -P)
}

env_get() {  # state dir, key -> value from state/env
  local line
  [[ -f $1/env ]] || return 1
  line=$(grep -m1 "^$2=" "$1/env") || return 1
  printf '%s\n' "${line#*=}"
}

prop_get() {  # state dir, key -> value from server.properties
  local line
  line=$(grep -m1 "^$2=" "$1/server.properties") || return 1
  printf '%s\n' "${line#*=}"
}

state_libs() {  # state dir -> libs dir it was started with (or the default)
  local libs
  if libs=$(env_get "$1" KAFKA_LIBS) && [[ -d $libs ]]; then
    printf '%s\n' "$libs"
  else
    ensure_fetched
    printf '%s\n' "$DEFAULT_LIBS"
  fi
}

state_bootstrap() {  # state dir -> 127.0.0.1:PORT
  local adv
  adv=$(prop_get "$1" advertised.listeners) || die "no advertised.listeners in $1/server.properties"
  adv=${adv#PLAINTEXT://}
  printf '%s\n' "${adv%%,*}"
}

state_sasl_bootstrap() {  # state dir -> 127.0.0.1:PORT of the SASL_SSL listener, or fail
  local adv
  adv=$(prop_get "$1" advertised.listeners) || return 1
  [[ $adv == *SASL_SSL://* ]] || return 1
  adv=${adv#*SASL_SSL://}
  printf '%s\n' "${adv%%,*}"
}

# CA + broker certificate (SAN IP:127.0.0.1) as a PKCS12 keystore, and a SCRAM
# password, all under STATE/tls.  openssl only: Kafka reads PKCS12 keystores.
make_tls_material() {
  local tls=$1/tls pass
  command -v openssl >/dev/null || die "openssl not found"
  mkdir -p "$tls"
  chmod 700 "$tls"
  pass=$(openssl rand -hex 16)
  (
    umask 077
    printf '%s\n' "$pass" >"$tls/keystore-password"
    openssl rand -hex 24 >"$tls/sasl-password"
  )
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=model-auditor test CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null || die "openssl: CA failed"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$tls/broker.key" -out "$tls/broker.csr" 2>/dev/null || die "openssl: CSR failed"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tls/san.ext"
  openssl x509 -req -in "$tls/broker.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 2 -extfile "$tls/san.ext" -out "$tls/broker.crt" 2>/dev/null \
    || die "openssl: signing the broker certificate failed"
  openssl pkcs12 -export -in "$tls/broker.crt" -inkey "$tls/broker.key" \
    -certfile "$tls/ca.crt" -name broker -passout "pass:$pass" \
    -out "$tls/broker.p12" 2>/dev/null || die "openssl: PKCS12 export failed"
}

# The broker's pid if it is alive (not a zombie) and really is the broker of
# this state dir (guards against pid reuse); otherwise returns 1.
broker_pid() {
  local state=$1 pid st
  [[ -f $state/broker.pid ]] || return 1
  pid=$(<"$state/broker.pid")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/stat ]] || return 1
  st=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $st != Z && $st != X ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $state/server.properties" || return 1
  printf '%s\n' "$pid"
}

proc_state() {  # pid -> one-letter state (R, S, T, Z...)
  sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null || echo X
}

wait_gone() {  # state dir, pid, timeout seconds -> 0 if the broker is gone
  local state=$1 pid=$2 deadline=$(( $(now_ms) + $3 * 1000 ))
  while broker_pid "$state" >/dev/null; do
    (( $(now_ms) < deadline )) || return 1
    sleep 0.1
  done
  return 0
}

tail_log() {
  local state=$1
  if [[ -f $state/broker.log ]]; then
    log "---- last 40 lines of $state/broker.log ----"
    tail -n 40 "$state/broker.log" >&2 || true
    log "---- end of broker.log ----"
  fi
}

# Metadata probe: succeeds once broker 1 answers a metadata request.
probe() {
  local bootstrap=$1 libs=$2
  if command -v kcat >/dev/null; then
    timeout 10 kcat -q -b "$bootstrap" -L -m 3 -t __model_auditor_probe 2>/dev/null \
      | grep -q "broker 1 at $bootstrap"
  else
    run_tool "$libs" org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$bootstrap" --list >/dev/null 2>&1
  fi
}

# Java for the short-lived admin tools: small heap, fast start.
run_tool() {
  local libs=$1; shift
  local cfg="$CACHE_DIR/tools-log4j2.xml"
  if [[ ! -f $cfg ]]; then
    mkdir -p "$CACHE_DIR"
    cat >"$cfg.$$" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders>
    <Console name="stderr" target="SYSTEM_ERR">
      <PatternLayout pattern="[%d{HH:mm:ss,SSS}] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="warn"><AppenderRef ref="stderr"/></Root>
  </Loggers>
</Configuration>
EOF
    mv "$cfg.$$" "$cfg"
  fi
  local -a opts
  read -ra opts <<<"${KAFKA_TOOL_OPTS:--Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
  "$JAVA" "${opts[@]}" -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$cfg" -cp "$libs/*" "$@"
}

# Start the JVM for an already formatted state dir and wait until ready.
# On failure: tail of the log, kill the JVM, return 1.
launch_and_wait() {
  local state=$1 libs=$2 bootstrap pid t0 deadline
  bootstrap=$(state_bootstrap "$state")
  local -a heap perf extra
  read -ra heap <<<"${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
  read -ra perf <<<"${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent}"
  read -ra extra <<<"${KAFKA_OPTS:-}"

  t0=$(now_ms)
  printf '\n==== %s kafka.sh: starting broker ====\n' "$(date -u +%FT%TZ)" >>"$state/broker.log"
  # stdin/stdout/stderr must not be the caller's: `eval "$(kafka.sh start)"`
  # would otherwise wait for the broker to exit.
  "$JAVA" "${heap[@]}" "${perf[@]}" "${extra[@]}" \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$state/log4j2.xml" -Dkafka.logs.dir="$state" \
    -cp "$libs/*" kafka.Kafka "$state/server.properties" \
    </dev/null >>"$state/broker.log" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$state/broker.pid"
  log "broker pid $pid, waiting for $bootstrap (<= ${START_TIMEOUT}s)"

  deadline=$(( t0 + START_TIMEOUT * 1000 ))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null || [[ $(proc_state "$pid") == Z ]]; then
      wait "$pid" 2>/dev/null || true
      log "broker exited during startup"
      tail_log "$state"
      return 1
    fi
    if probe "$bootstrap" "$libs"; then
      break
    fi
    if (( $(now_ms) >= deadline )); then
      log "broker not ready within ${START_TIMEOUT}s"
      tail_log "$state"
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      return 1
    fi
    sleep 0.2
  done
  log "broker ready at $bootstrap after $(( $(now_ms) - t0 ))ms"
  disown "$pid" 2>/dev/null || true
}

write_env() {  # state dir, libs
  local state=$1 libs=$2
  {
    print_env "$state"
    printf 'KAFKA_LIBS=%q\n' "$libs"
    printf 'KAFKA_VERSION=%s\n' "$KAFKA_VERSION"
  } >"$state/env.tmp"
  mv "$state/env.tmp" "$state/env"
}

print_env() {
  local state=$1 sasl
  printf 'KAFKA_BOOTSTRAP=%s\n' "$(state_bootstrap "$state")"
  printf 'KAFKA_STATE_DIR=%q\n' "$state"
  if sasl=$(state_sasl_bootstrap "$state"); then
    printf 'KAFKA_SASL_SSL_BOOTSTRAP=%s\n' "$sasl"
    printf 'KAFKA_SASL_USERNAME=auditor\n'
    printf 'KAFKA_SASL_PASSWORD_FILE=%q\n' "$state/tls/sasl-password"
    printf 'KAFKA_CA_FILE=%q\n' "$state/tls/ca.crt"
  fi
}

# ---------------------------------------------------------------- start ----

cmd_start() {
  local state made=0 libs=$DEFAULT_LIBS sasl_ssl=0
  if [[ ${1:-} == --sasl-ssl ]]; then
    sasl_ssl=1
    shift
  fi
  command -v python3 >/dev/null || die "python3 not found"
  command -v "$JAVA" >/dev/null || die "java not found (Java 17+ needed)"
  ensure_fetched

  if [[ $# -ge 1 ]]; then
    state=$1
    [[ ! -e $state/server.properties ]] \
      || die "$state already holds a broker; use 'restart $state' or another dir"
    mkdir -p "$state"
    # stop removes the whole dir: never adopt one that holds anything else.
    [[ -z $(ls -A "$state") ]] || die "$state is not empty"
  else
    state=$(mktemp -d "${TMPDIR:-/tmp}/model-auditor-kafka.XXXXXX")
    made=1
  fi
  state=$(cd "$state" && pwd -P)
  : >"$state/$MARKER"

  local port ctrl sport
  read -r port ctrl sport < <(free_ports 3)
  [[ -n $port && -n $ctrl && -n $sport ]] || die "could not pick free ports"

  cat >"$state/server.properties" <<EOF
# Written by scripts/kafka.sh: single-node KRaft broker+controller for tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctrl
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$state/data
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# After kill9 the controller keeps the dead broker's registration until its
# session expires (default 9 s); keep restart-after-kill9 quick.
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=500
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
log.retention.check.interval.ms=300000
# Tests produce messages with explicit (old) timestamps; time-based retention
# would delete them under the test's feet.
log.retention.ms=-1
EOF

  local -a scram=()
  if ((sasl_ssl)); then
    make_tls_material "$state"
    local kpass
    kpass=$(<"$state/tls/keystore-password")
    # PLAINTEXT stays the inter-broker listener and the one admin tools use.
    sed -i -e "s|^listeners=.*|listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl,SASL_SSL://127.0.0.1:$sport|" \
      -e "s|^advertised.listeners=.*|advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_SSL://127.0.0.1:$sport|" \
      -e "s|^listener.security.protocol.map=.*|listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL|" \
      "$state/server.properties"
    cat >>"$state/server.properties" <<EOF
# SASL_SSL listener (kafka.sh start --sasl-ssl): SCRAM-SHA-512 over TLS.
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$state/tls/broker.p12
ssl.keystore.password=$kpass
ssl.key.password=$kpass
ssl.enabled.protocols=TLSv1.3,TLSv1.2
EOF
    scram=(--add-scram "SCRAM-SHA-512=[name=\"auditor\",password=\"$(<"$state/tls/sasl-password")\"]")
  fi

  cat >"$state/log4j2.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Everything goes to stdout, which kafka.sh appends to broker.log. -->
<Configuration status="warn">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="info"><AppenderRef ref="stdout"/></Root>
    <Logger name="kafka.request.logger" level="warn"/>
    <Logger name="kafka.log.LogCleaner" level="warn"/>
    <Logger name="state.change.logger" level="warn"/>
    <Logger name="kafka.authorizer.logger" level="warn"/>
    <Logger name="org.apache.kafka.storage.internals.log" level="warn"/>
    <Logger name="org.apache.kafka.common.config.AbstractConfig" level="warn"/>
    <Logger name="org.apache.kafka.common.utils.AppInfoParser" level="warn"/>
  </Loggers>
</Configuration>
EOF

  log "state dir $state, ports $port (PLAINTEXT) $ctrl (CONTROLLER)"
  local cid
  cid=$(cluster_id)
  if ! run_tool "$libs" kafka.tools.StorageTool format -t "$cid" \
        -c "$state/server.properties" "${scram[@]}" >>"$state/broker.log" 2>&1; then
    tail_log "$state"
    ((made)) && [[ ${KEEP_KAFKA_STATE:-0} != 1 ]] && rm -rf "$state"
    die "kafka-storage format failed"
  fi

  if ! launch_and_wait "$state" "$libs"; then
    if ((made)) && [[ ${KEEP_KAFKA_STATE:-0} != 1 ]]; then
      rm -rf "$state"
    else
      log "state kept in $state"
    fi
    exit 1
  fi
  write_env "$state" "$libs"
  print_env "$state"
}

# ----------------------------------------------------- stop and friends ----

# SIGTERM (after SIGCONT, in case it is paused), then SIGKILL after the timeout.
stop_broker() {
  local state=$1 pid
  pid=$(broker_pid "$state") || { log "broker not running"; return 0; }
  log "stopping broker pid $pid"
  kill -CONT "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$state" "$pid" "$STOP_TIMEOUT"; then
    log "no clean shutdown within ${STOP_TIMEOUT}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$state" "$pid" 10 || die "broker pid $pid survives SIGKILL"
  fi
  log "broker stopped"
}

cmd_stop() {
  local state
  state=$(state_dir_arg "${1:-}")
  stop_broker "$state"
  if [[ ${KEEP_KAFKA_STATE:-0} == 1 ]]; then
    log "KEEP_KAFKA_STATE=1: state kept in $state"
  else
    rm -rf "$state"
  fi
}

cmd_kill9() {
  local state pid
  state=$(state_dir_arg "${1:-}")
  pid=$(broker_pid "$state") || { log "broker not running"; return 0; }
  kill -KILL "$pid"
  wait_gone "$state" "$pid" 10 || die "broker pid $pid survives SIGKILL"
  log "broker pid $pid killed (SIGKILL)"
}

cmd_restart() {
  local state libs
  state=$(state_dir_arg "${1:-}")
  libs=$(state_libs "$state")
  stop_broker "$state"
  launch_and_wait "$state" "$libs" || exit 1
  write_env "$state" "$libs"
  print_env "$state"
}

cmd_signal() {  # SIG STATE_DIR
  local sig=$1 state pid
  state=$(state_dir_arg "${2:-}")
  pid=$(broker_pid "$state") || die "broker not running"
  kill -"$sig" "$pid"
  log "sent SIG$sig to broker pid $pid"
}

cmd_status() {
  local state pid
  state=$(state_dir_arg "${1:-}")
  if pid=$(broker_pid "$state"); then
    if [[ $(proc_state "$pid") == T ]]; then echo paused; else echo running; fi
  else
    echo stopped
    return 3
  fi
}

# ------------------------------------------------------------ admin tools ----

resolve_target() {  # STATE_DIR or host:port -> "bootstrap libs"
  local arg=${1:-} state
  [[ -n $arg ]] || die "missing STATE_DIR or BOOTSTRAP argument"
  if [[ -d $arg ]]; then
    state=$(state_dir_arg "$arg")
    printf '%s %s\n' "$(state_bootstrap "$state")" "$(state_libs "$state")"
  else
    ensure_fetched
    printf '%s %s\n' "$arg" "$DEFAULT_LIBS"
  fi
}

cmd_create_topic() {
  [[ $# -eq 3 ]] || die "usage: create-topic STATE_DIR|BOOTSTRAP NAME PARTITIONS"
  local bootstrap libs name=$2 parts=$3
  [[ $parts =~ ^[1-9][0-9]*$ ]] || die "PARTITIONS must be a positive integer"
  read -r bootstrap libs < <(resolve_target "$1")
  run_tool "$libs" org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
    --create --if-not-exists --topic "$name" --partitions "$parts" \
    --replication-factor 1 >&2 || die "TopicCommand --create failed for $name"

  # Wait until every partition has a leader, so producers start cleanly.
  command -v kcat >/dev/null || return 0
  local deadline=$(( $(now_ms) + 30000 )) md have led
  while :; do
    md=$(timeout 10 kcat -q -b "$bootstrap" -L -m 3 -t "$name" 2>/dev/null || true)
    have=$(grep -oE "topic \"$name\" with [0-9]+ partitions" <<<"$md" | grep -oE '[0-9]+ partitions' | cut -d' ' -f1 || true)
    led=$(grep -cE '^ +partition [0-9]+, leader [0-9]+,' <<<"$md" || true)
    if [[ -n $have && $have -gt 0 && $led -eq $have ]]; then
      [[ $have -eq $parts ]] || die "topic $name exists with $have partitions, not $parts"
      log "topic $name ready ($have partitions)"
      return 0
    fi
    (( $(now_ms) < deadline )) || die "topic $name has no leaders after 30s"
    sleep 0.2
  done
}

cmd_tool() {
  [[ $# -ge 2 ]] || die "usage: tool STATE_DIR|BOOTSTRAP CLASS [ARGS...]"
  local bootstrap libs cls=$2
  read -r bootstrap libs < <(resolve_target "$1")
  shift 2
  run_tool "$libs" "$cls" --bootstrap-server "$bootstrap" "$@"
}

# ------------------------------------------------------------------ main ----

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    fetch)        cmd_fetch "$@" ;;
    start)        cmd_start "$@" ;;
    create-topic) cmd_create_topic "$@" ;;
    stop)         cmd_stop "$@" ;;
    kill9)        cmd_kill9 "$@" ;;
    restart)      cmd_restart "$@" ;;
    pause)        cmd_signal STOP "$@" ;;
    resume)       cmd_signal CONT "$@" ;;
    status)       cmd_status "$@" ;;
    tool)         cmd_tool "$@" ;;
    -h|--help|help) usage ;;
    "")           usage >&2; exit 2 ;;
    *)            log "unknown command: $cmd"; usage >&2; exit 2 ;;
  esac
}

main "$@"
