#!/usr/bin/env python3
"""deploy/systemd/model-auditor.service: hardening score, systemd-analyze
verify, the settings the daemon's contract needs, and that contract itself.

  systemd_test.py security            exposure <= 2.0 (and a bare unit fails)
  systemd_test.py verify BINARY       systemd-analyze verify on the real unit
  systemd_test.py notify BINARY       READY=1 / WATCHDOG=1 / STOPPING=1 on a
                                      notify socket, as systemd would see them
  systemd_test.py syscalls BINARY     every system call the daemon makes (under
                                      strace, on a real broker: consume, scrape,
                                      page, reload, SIGHUP, SIGTERM) is allowed
                                      by the unit's SystemCallFilter=

`verify` loads the unit's ExecStart binary, which is not installed at
/usr/local/bin here: the unit is copied to a temp dir with only that path
rewritten to the built binary (the test asserts that exactly one token
changed), so every other line verified is the shipped one.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import harness
from harness import check

UNIT = os.path.join(harness.SOURCE_DIR, "deploy/systemd/model-auditor.service")
CONFIG = os.path.join(harness.SOURCE_DIR, "deploy/systemd/config.yaml")
INSTALLED_BINARY = "/usr/local/bin/model-auditor"


def directives(text):
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            k, v = line.split("=", 1)
            out.setdefault(k.strip(), []).append(v.strip())
    return out


def seconds(v):
    m = re.fullmatch(r"(\d+)\s*(s|sec|min|m)?", v)
    check(m is not None, "duration %r is in s or min" % v)
    return int(m.group(1)) * (60 if m.group(2) in ("min", "m") else 1)


def exposure(unit_path):
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=20", unit_path],
                       capture_output=True, text=True)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout + r.stderr)
    return r.returncode, float(m.group(1)) if m else None, r.stdout + r.stderr


def security():
    rc, score, out = exposure(UNIT)
    check(score is not None, "systemd-analyze printed an exposure level")
    print("exposure level: %.1f" % score)
    check(rc == 0 and score <= 2.0, "exposure %.1f <= 2.0 (--threshold=20 passes)%s"
          % (score, "" if rc == 0 else ":\n" + out))
    # The same check on a unit without the hardening must fail, or it proves nothing.
    with harness.temp_dir() as tmp:
        bare = os.path.join(tmp, "model-auditor.service")
        with open(bare, "w") as f:
            f.write("[Service]\nType=notify\nExecStart=%s\n" % INSTALLED_BINARY)
        rc, bare_score, _ = exposure(bare)
        check(rc != 0 and bare_score is not None and bare_score > 2.0,
              "an unhardened unit fails the same threshold (exposure %s)" % bare_score)


def verify(binary):
    with open(UNIT) as f:
        text = f.read()
    d = directives(text)
    check(d.get("Type") == ["notify"], "Type=notify (READY=1 once serving with a registry)")
    check(d.get("NotifyAccess") == ["main"], "NotifyAccess=main")
    check(d.get("Restart") == ["on-failure"], "Restart=on-failure")
    check(d.get("RestartPreventExitStatus") == ["2"], "no restart loop on exit 2 (invalid config or flags)")
    check(seconds(d["WatchdogSec"][0]) >= 10, "WatchdogSec=%s leaves the 100 ms poll loop ample room" % d["WatchdogSec"][0])
    cfg = open(CONFIG).read()
    m = re.search(r"^\s*close_timeout:\s*(\d+)s", cfg, re.M)
    close_timeout = int(m.group(1)) if m else 5
    stop = seconds(d["TimeoutStopSec"][0])
    check(stop >= close_timeout + 10, "TimeoutStopSec=%ds > kafka.close_timeout %ds + 10s margin" % (stop, close_timeout))
    check(d.get("ExecReload") == ["/bin/kill -HUP $MAINPID"], "ExecReload sends SIGHUP (registry reload)")
    check(d.get("DynamicUser") == ["yes"] and d.get("StateDirectory") == ["model-auditor"],
          "DynamicUser=yes with StateDirectory=model-auditor")
    exec_start = d["ExecStart"][0].split()
    check(exec_start[0] == INSTALLED_BINARY and "--config.file=/etc/model-auditor/config.yaml" in exec_start,
          "ExecStart runs %s --config.file=/etc/model-auditor/config.yaml" % INSTALLED_BINARY)

    with harness.temp_dir() as tmp:
        rewritten = text.replace("ExecStart=" + INSTALLED_BINARY + " ", "ExecStart=" + os.path.abspath(binary) + " ")
        changed = [(a, b) for a, b in zip(text.splitlines(), rewritten.splitlines()) if a != b]
        check(len(changed) == 1 and changed[0][0].startswith("ExecStart="),
              "the copy differs from the shipped unit in the ExecStart binary only")
        unit = os.path.join(tmp, "model-auditor.service")
        with open(unit, "w") as f:
            f.write(rewritten)
        r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
        out = (r.stdout + r.stderr).strip()
        check(r.returncode == 0 and out == "", "systemd-analyze verify is clean%s" % ("" if not out else ":\n" + out))
        # verify only warns (exit 0) about an unknown key: the empty output is the criterion.
        with open(unit, "w") as f:
            f.write(rewritten.replace("WatchdogSec=", "WatchdogSecs=", 1))
        r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
        check("Unknown key 'WatchdogSecs'" in r.stdout + r.stderr, "verify reports a misspelt key in the copy")

        # The shipped config with the unit's exact arguments (--config.file=PATH form).
        os.makedirs(os.path.join(tmp, "etc"))
        conf = os.path.join(tmp, "etc", "config.yaml")
        with open(conf, "w") as f:
            f.write(cfg)
        with open(os.path.join(harness.SOURCE_DIR, "config/registry.yaml")) as src, \
                open(os.path.join(tmp, "etc", "registry.yaml"), "w") as dst:
            dst.write(src.read())
        args = [a.replace("/etc/model-auditor/config.yaml", conf) for a in exec_start[1:]]
        r = subprocess.run([binary] + args + ["--config.check"], capture_output=True, text=True)
        check(r.returncode == 0, "deploy/systemd/config.yaml passes --config.check with the unit's flags%s"
              % ("" if r.returncode == 0 else ":\n" + r.stdout + r.stderr))


def notify(binary):
    """The daemon's side of Type=notify and WatchdogSec, on a real broker."""
    with harness.temp_dir() as tmp:
        sock_path = os.path.join(tmp, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(0.2)
        topic = harness.unique("model-inference-requests")
        harness.create_topic(topic)
        config = harness.write_config(tmp, topic, harness.unique("model-auditor-notify"))
        watchdog_s = 4
        env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC=str(watchdog_s * 1_000_000))
        log = open(os.path.join(tmp, "daemon.log"), "wb")
        proc = subprocess.Popen([binary, "--config.file", config, "--web.listen-address", "127.0.0.1:0"],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        got = []

        def receive_until(pred, timeout):
            deadline = time.time() + timeout
            while time.time() < deadline and not pred():
                try:
                    message = sock.recv(4096).decode()
                except socket.timeout:
                    continue
                got.append((time.time(), message))
            return pred()

        try:
            start = time.time()
            check(receive_until(lambda: any("READY=1" in m for _, m in got), 20), "READY=1 arrives")
            ready_at = next(t for t, m in got if "READY=1" in m)
            print("READY=1 %.3f s after the daemon was started" % (ready_at - start))
            # The poll loop pings every WATCHDOG_USEC/2.
            check(receive_until(lambda: sum("WATCHDOG=1" in m for _, m in got) >= 3, 4 * watchdog_s),
                  "WATCHDOG=1 keeps coming from the poll loop (%d pings)" % sum("WATCHDOG=1" in m for _, m in got))
            pings = [t for t, m in got if "WATCHDOG=1" in m]
            gaps = [b - a for a, b in zip(pings, pings[1:])]
            check(all(watchdog_s / 2 - 0.2 <= g < watchdog_s for g in gaps),
                  "pings come every WatchdogSec/2, within WatchdogSec (gaps %s s)" % ["%.2f" % g for g in gaps])
            proc.send_signal(signal.SIGTERM)
            check(receive_until(lambda: any("STOPPING=1" in m for _, m in got), 15), "STOPPING=1 after SIGTERM")
            check(proc.wait(timeout=15) == 0, "exit 0 after SIGTERM")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
            sock.close()


def expand(group, seen=None):
    """The system calls of a systemd syscall group, nested groups expanded."""
    seen = set() if seen is None else seen
    r = subprocess.run(["systemd-analyze", "syscall-filter", group], capture_output=True, text=True)
    check(r.returncode == 0, "systemd-analyze syscall-filter %s" % group) if group not in seen else None
    seen.add(group)
    out = set()
    for line in r.stdout.splitlines()[1:]:
        w = line.strip()
        if not w or w.startswith("#"):
            continue
        if w.startswith("@"):
            if w not in seen:
                out |= expand(w, seen)
        else:
            out.add(w)
    return out


def allowed_syscalls(d):
    allow, deny = set(), set()
    for v in d["SystemCallFilter"]:
        target = deny if v.startswith("~") else allow
        for item in v.lstrip("~").split():
            target |= expand(item) if item.startswith("@") else {item}
    return allow - deny


def syscalls(binary):
    allowed = allowed_syscalls(directives(open(UNIT).read()))
    check(len(allowed) > 100, "the unit's SystemCallFilter allows %d system calls" % len(allowed))
    with harness.temp_dir() as tmp:
        topic = harness.unique("model-inference-requests")
        harness.create_topic(topic)
        harness.produce(topic, [('{"model_name":"Qwen3-Next-80B-Local"}', {}),
                                ('{"model_name":"Qwen3-Next-80B-Optimized"}', {}),
                                ('not json', {"X-Model-Name": "Qwen-Tiny"})])
        config = harness.write_config(tmp, topic, harness.unique("model-auditor-syscalls"))
        trace = os.path.join(tmp, "strace.txt")
        log = open(os.path.join(tmp, "daemon.log"), "wb")
        proc = subprocess.Popen(["strace", "-f", "-qq", "-o", trace, binary, "--config.file", config,
                                 "--web.listen-address", "127.0.0.1:0"], stdout=log, stderr=subprocess.STDOUT)
        try:
            read_log = lambda: open(os.path.join(tmp, "daemon.log"), errors="replace").read()
            check(harness.eventually(lambda: re.search(r'listening"? address=(\S+)', read_log()), 30),
                  "the daemon starts under strace")
            addr = re.search(r'listening"? address=(\S+)', read_log()).group(1)
            check(harness.eventually(lambda: harness.messages_total(
                harness.parse_metrics(harness.http_get(addr, "/metrics")[1])[0], topic) >= 3, 60),
                "it counts the messages")
            for path in ("/", "/api/v1/report", "/-/healthy", "/-/ready"):
                harness.http_get(addr, path)
            import urllib.request
            urllib.request.urlopen(urllib.request.Request("http://%s/-/reload" % addr, method="POST"), timeout=10).read()
            # Signals go to the daemon itself, strace's child (strace would detach).
            with open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)) as f:
                daemon_pid = int(f.read().split()[0])
            os.kill(daemon_pid, signal.SIGHUP)
            time.sleep(1.5)
            os.kill(daemon_pid, signal.SIGTERM)
            check(proc.wait(timeout=30) == 0, "exit 0 after SIGTERM")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
        used = set()
        for line in open(trace, errors="replace"):
            m = re.match(r"\d+\s+([a-z0-9_]+)\(", line)
            if m:
                used.add(m.group(1))
        check(len(used) > 20, "strace saw %d distinct system calls" % len(used))
        # execve is the exec itself, made before the filter applies to the new program.
        denied = sorted(used - allowed - {"execve"})
        check(not denied, "every system call the daemon made is allowed by SystemCallFilter=%s"
              % ("" if not denied else " (denied: %s)" % ", ".join(denied)))
        print("system calls used: " + " ".join(sorted(used)))
        check(used - expand("@basic-io") - {"execve"}, "a narrower filter (@basic-io only) would deny some")


if __name__ == "__main__":
    mode = sys.argv[1]
    harness.main({"security": security,
                  "verify": lambda: verify(sys.argv[2]),
                  "notify": lambda: notify(sys.argv[2]),
                  "syscalls": lambda: syscalls(sys.argv[2])}[mode])
