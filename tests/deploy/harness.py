"""Shared pieces of the deploy tests: the real daemon as a child process, the
real broker named by KAFKA_BOOTSTRAP (topics via scripts/kafka.sh, messages via
kcat), plain HTTP, and the text exposition format.

Python 3 standard library only; every process and temp dir is cleaned up by
the context managers even when a check fails.
"""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class CheckFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CheckFailed(what)
    print("ok   " + what)


def main(run):
    """Runs `run()`; prints the failure and exits 1 on CheckFailed."""
    try:
        run()
    except CheckFailed as e:
        print("FAIL " + str(e), file=sys.stderr)
        sys.exit(1)


def bootstrap():
    b = os.environ.get("KAFKA_BOOTSTRAP", "")
    if not b:
        raise CheckFailed("KAFKA_BOOTSTRAP is not set: start a broker with "
                          "eval \"$(scripts/kafka.sh start)\" or run scripts/test.sh")
    return b


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def create_topic(topic, partitions=1):
    subprocess.run([os.path.join(SOURCE_DIR, "scripts/kafka.sh"), "create-topic", bootstrap(),
                    topic, str(partitions)], check=True, stdout=subprocess.DEVNULL)


def produce(topic, messages):
    """messages: list of (value, {header: value}); one kcat call per header set."""
    groups = {}
    for value, headers in messages:
        if "\n" in value:
            raise ValueError("kcat reads one message per line")
        groups.setdefault(tuple(sorted(headers.items())), []).append(value)
    for headers, values in groups.items():
        cmd = ["kcat", "-P", "-b", bootstrap(), "-t", topic, "-p", "0", "-X", "acks=all"]
        for k, v in headers:
            cmd += ["-H", "%s=%s" % (k, v)]
        subprocess.run(cmd, input="\n".join(values) + "\n", text=True, check=True, timeout=60)


@contextlib.contextmanager
def temp_dir(prefix="model-auditor-deploy-"):
    d = tempfile.mkdtemp(prefix=prefix)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def daemon(binary, config, log_path):
    """The daemon on 127.0.0.1:<free port>; yields (address, log reader)."""
    log = open(log_path, "wb")
    proc = subprocess.Popen([binary, "--config.file", config, "--web.listen-address", "127.0.0.1:0"],
                            stdout=log, stderr=subprocess.STDOUT)
    read_log = lambda: open(log_path, encoding="utf-8", errors="replace").read()
    try:
        deadline = time.time() + 20
        address = None
        while time.time() < deadline and address is None:
            m = re.search(r"listening\"? address=(\S+)", read_log())
            if m:
                address = m.group(1)
            elif proc.poll() is not None:
                break
            else:
                time.sleep(0.1)
        if address is None:
            raise CheckFailed("daemon did not start listening; log:\n" + read_log())
        yield address, read_log
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def http_get(address, path):
    try:
        with urllib.request.urlopen("http://%s%s" % (address, path), timeout=10) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", errors="replace")


def eventually(pred, timeout, every=0.2):
    deadline = time.time() + timeout
    while True:
        if pred():
            return True
        if time.time() >= deadline:
            return False
        time.sleep(every)


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$')


def parse_metrics(text):
    """{series as exposed: value} and the set of metric names (samples and # TYPE)."""
    samples, names = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE ") or line.startswith("# HELP "):
            names.add(line.split()[2])
            continue
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m:
            samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
            names.add(m.group(1))
    return samples, names


def write_config(directory, topic, group):
    """A daemon config on the real broker with the example registry."""
    shutil.copy(os.path.join(SOURCE_DIR, "config/registry.yaml"), os.path.join(directory, "registry.yaml"))
    path = os.path.join(directory, "config.yaml")
    with open(path, "w") as f:
        f.write("kafka:\n  brokers: %s\n  group_id: %s\n  topics: [%s]\n  commit_interval: 1s\n"
                "registry:\n  file: registry.yaml\n" % (bootstrap(), group, topic))
    return path


def messages_total(samples, topic):
    prefix = 'model_audit_messages_total{topic="%s",' % topic
    return sum(v for k, v in samples.items() if k.startswith(prefix))
