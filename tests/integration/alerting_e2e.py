#!/usr/bin/env python3
"""End to end: Kafka -> model-auditor -> Prometheus -> Alertmanager -> webhook.

Everything is the real program: the Kafka broker named by KAFKA_BOOTSTRAP, the
daemon binary, Debian's prometheus and prometheus-alertmanager. Prometheus
evaluates the shipped deploy/prometheus/rules.yml and recording.yml unchanged.
Its configuration and Alertmanager's are the shipped examples
(deploy/prometheus/scrape.yml, deploy/alertmanager/alertmanager.yml) rendered by
`render()`: only addresses, file paths and timings are substituted, each
substitution must match, so the shipped files cannot drift from what is tested.

The test produces a phantom name and a typo, waits for both firing
notifications (checking model_name, verdict, suggestion and the severity route),
stops the traffic and waits for both resolved notifications, which may not come
before the daemon's alert window has passed. It prints the produce-to-notification
latencies. Every process it starts is stopped on exit, and receives SIGTERM if
this script dies (PR_SET_PDEATHSIG).

usage: alerting_e2e.py --daemon BUILD/model-auditor --source-dir REPO
"""

import argparse
import ctypes
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

PHANTOM = "Qwen3-Next-80B-Local"
TYPO = "Qwen3-Next-80B-Optimzed"
TYPO_SUGGESTION = "Qwen3-Next-80B-Optimized"
ALERT_WINDOW_S = 10
DEADLINE_FIRING_S = 45
DEADLINE_RESOLVED_S = 45


def log(msg):
    print(f"[alerting-e2e {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def fail(msg):
    raise AssertionError(msg)


def _die_with_parent():
    # Runs in the child before exec: if this script is killed (ctest timeout,
    # SIGKILL), the kernel sends the child SIGTERM instead of leaving it behind.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render(text, substitutions, what):
    """Replaces each key by its value; every key must occur in the shipped file."""
    for old, new in substitutions.items():
        if old not in text:
            fail(f"{what}: expected to find {old!r} to substitute; the shipped file changed")
        text = text.replace(old, new)
    return text


def http_get(url, timeout=2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_until(what, predicate, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(interval)
    fail(f"timed out after {timeout}s waiting for {what}")


class Webhook:
    """Alertmanager webhook receiver: records every notification with its path."""

    def __init__(self):
        self.lock = threading.Lock()
        self.notifications = []  # (monotonic time, path, payload)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"unparseable": body.decode(errors="replace")}
                with outer.lock:
                    outer.notifications.append((time.monotonic(), self.path, payload))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def find(self, alertname, status, since=0.0):
        """First (time, path, alert) whose alert has that name and status."""
        with self.lock:
            for t, path, payload in self.notifications:
                if t < since:
                    continue
                for alert in payload.get("alerts", []):
                    if alert.get("labels", {}).get("alertname") == alertname and alert.get("status") == status:
                        return t, path, alert
        return None

    def summary(self):
        with self.lock:
            return [(path, a.get("status"), a.get("labels", {}))
                    for _, path, p in self.notifications for a in p.get("alerts", [])]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Processes:
    """Started processes, stopped in reverse order whatever happens."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = []  # (name, Popen, log path)

    def start(self, name, argv):
        log_path = os.path.join(self.workdir, f"{name}.log")
        out = open(log_path, "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             preexec_fn=_die_with_parent, cwd=self.workdir)
        out.close()
        self.procs.append((name, p, log_path))
        return p

    def log_of(self, name):
        for n, _, path in self.procs:
            if n == name:
                with open(path, "rb") as f:
                    return f.read().decode(errors="replace")
        return ""

    def check_alive(self):
        for name, p, _ in self.procs:
            if p.poll() is not None:
                fail(f"{name} exited early with {p.returncode}:\n{self.log_of(name)[-3000:]}")

    def stop_all(self):
        for name, p, _ in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for name, p, _ in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def dump_logs(self):
        for name, _, _ in self.procs:
            text = self.log_of(name)
            print(f"----- {name} (last 40 lines) -----\n" + "\n".join(text.splitlines()[-40:]), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--daemon", required=True, help="the model-auditor binary")
    ap.add_argument("--source-dir", required=True, help="repository root (deploy/, config/, scripts/)")
    ap.add_argument("--prometheus", default="prometheus")
    ap.add_argument("--alertmanager", default="prometheus-alertmanager")
    ap.add_argument("--kcat", default="kcat")
    args = ap.parse_args()

    bootstrap = os.environ.get("KAFKA_BOOTSTRAP")
    if not bootstrap:
        fail("KAFKA_BOOTSTRAP is not set (scripts/test.sh starts a broker; or eval \"$(scripts/kafka.sh start)\")")
    src = os.path.abspath(args.source_dir)
    for tool in (args.prometheus, args.alertmanager, args.kcat):
        if shutil.which(tool) is None:
            fail(f"{tool} not found (scripts/install-deps.sh installs it)")

    # ctest's timeout sends SIGTERM: turn it into an exception so `finally` runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"alerting-e2e: terminated"))

    workdir = tempfile.mkdtemp(prefix="model-auditor-alerting-e2e-")
    procs = Processes(workdir)
    webhook = Webhook()
    ok = False
    try:
        run_id = uuid.uuid4().hex[:10]
        topic = f"alerting-e2e-{run_id}"
        subprocess.run([os.path.join(src, "scripts/kafka.sh"), "create-topic", bootstrap, topic, "1"],
                       check=True, stdout=subprocess.DEVNULL, timeout=60)

        # --- the daemon ------------------------------------------------------------
        config = os.path.join(workdir, "auditor.yaml")
        with open(config, "w") as f:
            f.write(json.dumps({
                "kafka": {"brokers": bootstrap, "group_id": f"alerting-e2e-{run_id}", "topics": [topic],
                          "commit_interval": "1s", "lag_interval": "1s"},
                "registry": {"file": os.path.join(src, "config/registry.yaml")},
                "audit": {"alert_window": f"{ALERT_WINDOW_S}s"},
            }, indent=2))
        procs.start("model-auditor", [os.path.abspath(args.daemon), "--config.file", config,
                                      "--web.listen-address", "127.0.0.1:0"])

        def daemon_address():
            procs.check_alive()
            for line in procs.log_of("model-auditor").splitlines():
                if "listening" in line and "address=" in line:
                    return line.split("address=", 1)[1].split()[0].strip('"')
            return None
        daemon_addr = wait_until("the daemon's listen address", daemon_address, 20)

        # --- Alertmanager: the shipped route, webhooks pointed at this test -------------
        am_port = free_port()
        am_cfg = render(open(os.path.join(src, "deploy/alertmanager/alertmanager.yml")).read(), {
            "http://pager-bridge.example.internal:8080/alerts": f"http://127.0.0.1:{webhook.port}/pager",
            "http://ticket-bridge.example.internal:8080/alerts": f"http://127.0.0.1:{webhook.port}/tickets",
            "group_wait: 30s": "group_wait: 1s",
            "group_interval: 5m": "group_interval: 1s",
            "resolve_timeout: 5m": "resolve_timeout: 10s",
        }, "deploy/alertmanager/alertmanager.yml")
        with open(os.path.join(workdir, "alertmanager.yml"), "w") as f:
            f.write(am_cfg)
        procs.start("alertmanager", [args.alertmanager, "--config.file", os.path.join(workdir, "alertmanager.yml"),
                                     "--storage.path", os.path.join(workdir, "am-data"),
                                     "--web.listen-address", f"127.0.0.1:{am_port}",
                                     "--cluster.listen-address="])  # no HA gossip port

        # --- Prometheus: the shipped scrape config and rules, 1 s intervals --------------
        prom_port = free_port()
        prom_cfg = render(open(os.path.join(src, "deploy/prometheus/scrape.yml")).read(), {
            "scrape_interval: 15s": "scrape_interval: 1s",
            "evaluation_interval: 15s": "evaluation_interval: 1s",
            "scrape_timeout: 10s": "scrape_timeout: 1s",
            "- rules.yml": "- " + os.path.join(src, "deploy/prometheus/rules.yml"),
            "- recording.yml": "- " + os.path.join(src, "deploy/prometheus/recording.yml"),
            "'alertmanager:9093'": f"'127.0.0.1:{am_port}'",
            "['auditor-1:9847', 'auditor-2:9847']": f"['{daemon_addr}']",
        }, "deploy/prometheus/scrape.yml")
        with open(os.path.join(workdir, "prometheus.yml"), "w") as f:
            f.write(prom_cfg)
        procs.start("prometheus", [args.prometheus, "--config.file", os.path.join(workdir, "prometheus.yml"),
                                   "--storage.tsdb.path", os.path.join(workdir, "prom-data"),
                                   "--web.listen-address", f"127.0.0.1:{prom_port}"])

        def ready(url):
            procs.check_alive()
            return http_get(url)[0] == 200
        wait_until("model-auditor /-/ready", lambda: ready(f"http://{daemon_addr}/-/ready"), 30)
        wait_until("Alertmanager /-/ready", lambda: ready(f"http://127.0.0.1:{am_port}/-/ready"), 30)
        wait_until("Prometheus /-/ready", lambda: ready(f"http://127.0.0.1:{prom_port}/-/ready"), 30)

        def rules_loaded():
            _, body = http_get(f"http://127.0.0.1:{prom_port}/api/v1/rules")
            names = {r.get("name") for g in json.loads(body)["data"]["groups"] for r in g["rules"]}
            return "ModelAuditUnknownModel" in names and "ModelAuditMisnamedModel" in names

        def target_up():
            _, body = http_get(f"http://127.0.0.1:{prom_port}/api/v1/targets")
            targets = json.loads(body)["data"]["activeTargets"]
            return any(t["labels"].get("job") == "model-auditor" and t["health"] == "up" for t in targets)
        wait_until("Prometheus to load the shipped rules", rules_loaded, 15)
        wait_until("Prometheus to scrape the daemon", target_up, 15)
        log(f"daemon {daemon_addr}, prometheus 127.0.0.1:{prom_port}, alertmanager 127.0.0.1:{am_port}, "
            f"webhook 127.0.0.1:{webhook.port}, topic {topic}")

        # --- traffic: the phantom and the typo, one kcat run every 0.5 s ----------------
        # kcat -P reads stdin in blocks, so a long-lived kcat fed line by line
        # sends late (measured: seconds); one short run per round sends at once.
        produced_first = None
        produced_last = None
        firing = {}

        def produce_round():
            nonlocal produced_first, produced_last
            started = time.monotonic()
            lines = "".join(json.dumps({"model": name, "prompt": "hello"}) + "\n" for name in (PHANTOM, TYPO))
            r = subprocess.run([args.kcat, "-P", "-b", bootstrap, "-t", topic, "-X", "linger.ms=0"],
                               input=lines.encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=20, preexec_fn=_die_with_parent)
            if r.returncode != 0:
                fail(f"kcat exited with {r.returncode}: {r.stdout.decode(errors='replace')}")
            # Latency counts from the start of the first produce (kcat's start-up included).
            if produced_first is None:
                produced_first = started
            produced_last = time.monotonic()  # kcat exits once the broker acknowledged

        # Where the latency goes: the daemon exports the gauge, Prometheus's
        # rule fires, Alertmanager notifies.
        seen_by_daemon = {}
        firing_in_prometheus = {}

        def observe_stages():
            if len(seen_by_daemon) < 2:
                _, body = http_get(f"http://{daemon_addr}/metrics")
                for name in (PHANTOM, TYPO):
                    if name not in seen_by_daemon and \
                            f'model_audit_unknown_model_active{{model_name="{name}"' in body:
                        seen_by_daemon[name] = time.monotonic()
            if len(firing_in_prometheus) < 2:
                _, body = http_get(f"http://127.0.0.1:{prom_port}/api/v1/alerts")
                for a in json.loads(body)["data"]["alerts"]:
                    name = a["labels"].get("alertname")
                    if a.get("state") == "firing" and name not in firing_in_prometheus:
                        firing_in_prometheus[name] = time.monotonic()

        deadline = time.monotonic() + DEADLINE_FIRING_S
        while len(firing) < 2:
            procs.check_alive()
            if time.monotonic() > deadline:
                fail(f"no firing notification for both names within {DEADLINE_FIRING_S}s; "
                     f"received: {webhook.summary()}")
            produce_round()
            try:
                observe_stages()
            except (OSError, urllib.error.URLError, ValueError, KeyError):
                pass  # the breakdown is informative; the assertions below are not
            for alertname in ("ModelAuditUnknownModel", "ModelAuditMisnamedModel"):
                if alertname not in firing:
                    hit = webhook.find(alertname, "firing")
                    if hit:
                        firing[alertname] = hit
            time.sleep(0.5)
        stopped = produced_last

        t, path, alert = firing["ModelAuditUnknownModel"]
        labels = alert["labels"]
        if path != "/pager" or labels.get("severity") != "critical":
            fail(f"unknown-model alert should page (critical -> /pager), got {path} {labels}")
        if labels.get("model_name") != PHANTOM or labels.get("verdict") != "unknown":
            fail(f"unknown-model alert labels: {labels}")
        # An empty suggestion is no label at all in Prometheus.
        if labels.get("suggestion", "") != "":
            fail(f"the phantom has no suggestion, got {labels}")
        if PHANTOM not in alert["annotations"].get("summary", "") or \
                not alert["annotations"].get("runbook_url", "").startswith("docs/runbook.md#"):
            fail(f"unknown-model annotations: {alert['annotations']}")
        lat_unknown = t - produced_first

        t, path, alert = firing["ModelAuditMisnamedModel"]
        labels = alert["labels"]
        if path != "/tickets" or labels.get("severity") != "warning":
            fail(f"misnamed-model alert should go to tickets (warning -> /tickets), got {path} {labels}")
        if labels.get("model_name") != TYPO or labels.get("verdict") != "typo" or \
                labels.get("suggestion") != TYPO_SUGGESTION:
            fail(f"misnamed-model alert labels: {labels}")
        if TYPO_SUGGESTION not in alert["annotations"].get("summary", ""):
            fail(f"misnamed-model summary should name the suggestion: {alert['annotations']}")
        lat_typo = t - produced_first
        log(f"firing: produce -> notification {lat_unknown:.1f}s (unknown, {PHANTOM}), "
            f"{lat_typo:.1f}s (typo, {TYPO} -> {TYPO_SUGGESTION})")

        def stage(table, key):
            return f"{table[key] - produced_first:.1f}s" if key in table else "n/a"
        log(f"breakdown after the first message (polled every 0.5 s): gauge on /metrics "
            f"{stage(seen_by_daemon, PHANTOM)}/{stage(seen_by_daemon, TYPO)}, "
            f"firing in Prometheus {stage(firing_in_prometheus, 'ModelAuditUnknownModel')}/"
            f"{stage(firing_in_prometheus, 'ModelAuditMisnamedModel')}, "
            f"webhook {lat_unknown:.1f}s/{lat_typo:.1f}s (unknown/typo)")

        # Every metric the shipped rules read is one the daemon really exports
        # (a renamed metric would leave a rule silently matching nothing).
        _, scrape = http_get(f"http://{daemon_addr}/metrics")
        exported = set(re.findall(r"^# TYPE (\S+) ", scrape, re.M))
        used = set()
        for rules_file in ("rules.yml", "recording.yml"):
            text = open(os.path.join(src, "deploy/prometheus", rules_file)).read()
            used |= set(re.findall(r"(?<![:\w])(model_audit_[a-z_]+)(?![:\w])", text))
        if not used or used - exported:
            fail(f"the rules read metrics the daemon does not export: {sorted(used - exported)}")
        log(f"the rules read {len(used)} metrics, all exported by the daemon")

        # --- traffic stopped: both resolve, not before the alert window -------------------
        resolved = {}
        deadline = time.monotonic() + DEADLINE_RESOLVED_S
        while len(resolved) < 2:
            procs.check_alive()
            if time.monotonic() > deadline:
                fail(f"no resolved notification for both names within {DEADLINE_RESOLVED_S}s after the "
                     f"traffic stopped; received: {webhook.summary()}")
            for alertname in ("ModelAuditUnknownModel", "ModelAuditMisnamedModel"):
                if alertname not in resolved:
                    hit = webhook.find(alertname, "resolved", since=stopped)
                    if hit:
                        resolved[alertname] = hit
            time.sleep(0.2)
        for alertname, (t, path, alert) in resolved.items():
            after = t - stopped
            if alert["labels"].get("model_name") not in (PHANTOM, TYPO):
                fail(f"resolved {alertname} for an unexpected name: {alert['labels']}")
            # The daemon holds the name for the window after it was last consumed.
            if after < ALERT_WINDOW_S - 1:
                fail(f"{alertname} resolved {after:.1f}s after the traffic stopped, before the "
                     f"{ALERT_WINDOW_S}s alert window")
            log(f"resolved: {alertname} {after:.1f}s after the last message "
                f"(alert window {ALERT_WINDOW_S}s)")

        others = sorted({labels["alertname"] for _, _, labels in webhook.summary()}
                        - {"ModelAuditUnknownModel", "ModelAuditMisnamedModel"})
        if others:
            fail(f"unexpected alerts fired: {others}: {webhook.summary()}")
        ok = True
        log("PASS")
    finally:
        try:
            procs.stop_all()
            webhook.close()
            if not ok:
                procs.dump_logs()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"alerting-e2e: FAIL: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
