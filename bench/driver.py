#!/usr/bin/python3
"""Throughput benchmark driver (bench/run.sh calls it; see README "Performance").

Produces the workload once, then drains the same topic with a fresh consumer
group per run, alternating the contenders round by round:

  raw            bench_raw_consumer: poll + destroy, nothing else (the floor)
  model-auditor  the daemon binary; done when its /metrics sum of
                 model_audit_messages_total reaches N (clock starts at spawn)
  reference      bench/reference/consumer.py (confluent-kafka, json, dicts,
                 prometheus_client)

then the scrape experiment (a 10,000-model registry, >1,000 unregistered
names: the daemon drains with and without a /metrics scrape every second), and
the flood (1,000,000 distinct unknown names: peak RSS). Writes a Markdown report.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARTITIONS = 4


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def proc_hwm_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def wait_child(proc, timeout):
    """Waits for a child; returns (wall_end, cpu_seconds, maxrss_mb) from wait4."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            end = time.monotonic()
            proc.returncode = os.waitstatus_to_exitcode(status)
            return end, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{proc.args[0]} did not finish within {timeout}s")
        time.sleep(0.005)


def run_exiting(cmd, n, timeout):
    """A contender that exits by itself after N messages (raw, reference)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    end, cpu, rss = wait_child(proc, timeout)
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    if proc.returncode != 0 or f"consumed={n}" not in out:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {out}{err[-2000:]}")
    m = re.search(r"seconds=([0-9.]+)", out)
    d = re.search(r"done_at=([0-9.]+)", out)
    # Spawn to the Nth message, on the same clock as the daemon's spawn to its
    # Nth count: leaving the group afterwards is not part of the drain.
    seconds = float(d.group(1)) - start if d else end - start
    return {"seconds": seconds, "self_seconds": float(m.group(1)) if m else None,
            "cpu": cpu, "rss_mb": rss}


def scrape(port, timeout=10):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
        return r.read().decode()


def counted(body):
    total = 0.0
    for line in body.splitlines():
        if line.startswith("model_audit_messages_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


class Daemon:
    def __init__(self, binary, bootstrap, topic, group, registry, workdir):
        cfg = os.path.join(workdir, f"{group}.yaml")
        # BENCH_KAFKA_PROPERTIES="k=v,k=v": librdkafka overrides, for experiments.
        props = [kv.split("=", 1) for kv in os.environ.get("BENCH_KAFKA_PROPERTIES", "").split(",") if kv]
        with open(cfg, "w") as f:
            f.write(f"kafka:\n  brokers: {bootstrap}\n  group_id: {group}\n  topics: [{topic}]\n")
            if props:
                f.write("  properties:\n" + "".join(f"    {k}: '{v}'\n" for k, v in props))
            f.write(f"registry:\n  file: {registry}\n")
        self.log_path = os.path.join(workdir, f"{group}.log")
        self.log = open(self.log_path, "w")
        self.start = time.monotonic()
        self.proc = subprocess.Popen(
            [binary, "--config.file", cfg, "--web.listen-address", "127.0.0.1:0",
             "--log.level", "warn"], stdout=subprocess.DEVNULL, stderr=self.log)
        # --log.level warn hides the "listening" line; find the port from /proc.
        self.port = self._find_port()

    def _find_port(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited: {open(self.log_path).read()[-2000:]}")
            inodes = set()
            try:
                for fd in os.listdir(f"/proc/{self.proc.pid}/fd"):
                    try:
                        link = os.readlink(f"/proc/{self.proc.pid}/fd/{fd}")
                    except OSError:
                        continue
                    if link.startswith("socket:["):
                        inodes.add(link[8:-1])
                with open(f"/proc/{self.proc.pid}/net/tcp") as f:
                    next(f)
                    for line in f:
                        parts = line.split()
                        if parts[3] == "0A" and parts[9] in inodes:  # LISTEN
                            return int(parts[1].split(":")[1], 16)
            except FileNotFoundError:
                pass
            time.sleep(0.005)
        raise RuntimeError("daemon never listened")

    def wait_ready(self, timeout=120):
        """Waits until /-/ready answers 200 (registry loaded, group joined)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=5) as r:
                    if r.status == 200:
                        return time.monotonic()
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError("daemon never became ready")

    def wait_counted(self, n, timeout):
        """Polls /metrics until N are counted, sparsely while far from N (the
        polls are scrapes too) and every 10 ms near it. Returns seconds since spawn."""
        deadline = time.monotonic() + timeout
        last_t, last_c, rate = None, 0, None
        while time.monotonic() < deadline:
            try:
                c = counted(scrape(self.port))
            except OSError:
                c = last_c
            now = time.monotonic()
            if c >= n:
                if c != n:
                    raise RuntimeError(f"daemon counted {c} of {n} messages")
                return now - self.start
            if last_t is not None and c > last_c:
                rate = (c - last_c) / (now - last_t)
            last_t, last_c = now, c
            wait = 1.0 if rate is None else min(1.0, 0.5 * (n - c) / rate)
            time.sleep(max(0.01, wait))
        raise RuntimeError(f"daemon counted {last_c} of {n} within {timeout}s")

    def stop(self):
        cpu, rss = proc_cpu_seconds(self.proc.pid), proc_hwm_mb(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if self.proc.returncode != 0:
            raise RuntimeError(f"daemon exit {self.proc.returncode}: {open(self.log_path).read()[-2000:]}")
        return cpu, rss


def run_daemon(args, topic, group, registry, n, workdir, scrape_every=None, from_ready=False):
    """Drains N messages with the daemon. The clock starts at spawn, or with
    from_ready once /-/ready says the registry is loaded and the group joined
    (so that building a 10,000-model index does not hide the drain itself)."""
    d = Daemon(args.daemon, args.bootstrap, topic, group, registry, workdir)
    if from_ready:
        d.start = d.wait_ready()
    stop = threading.Event()
    scrapes = []

    def scraper():
        while not stop.wait(scrape_every):
            t0 = time.monotonic()
            try:
                scrape(d.port)
                scrapes.append(time.monotonic() - t0)
            except OSError:
                pass

    t = None
    if scrape_every:
        t = threading.Thread(target=scraper, daemon=True)
        t.start()
    try:
        seconds = d.wait_counted(n, args.timeout)
    finally:
        stop.set()
        if t:
            t.join()
        cpu, rss = d.stop()
    return {"seconds": seconds, "cpu": cpu, "rss_mb": rss, "scrapes": scrapes}


def big_registry(path, models):
    """config/registry.yaml's models plus generated ones, the shape a large
    platform registry has (family, size, flavour, owning team)."""
    families = ["Qwen3", "Llama3", "Mistral", "Gemma2", "Phi3", "DeepSeek", "Falcon", "Granite",
                "Command", "Yi"]
    sizes = ["1.5B", "3B", "7B", "8B", "14B", "32B", "70B", "72B"]
    flavours = ["Instruct", "Chat", "Coder", "Vision", "Optimized", "Cloud", "Base", "Math"]
    with open(os.path.join(ROOT, "config", "registry.yaml")) as f:
        text = f.read()
    names = set(re.findall(r"name: (\S+)", text))
    lines = [text.rstrip("\n")]
    i = 0
    while len(names) < models:
        n = f"{families[i % 10]}-{sizes[(i // 10) % 8]}-{flavours[(i // 80) % 8]}"
        if i // 640:
            n += f"-Team{i // 640}"
        i += 1
        if n in names:
            continue
        names.add(n)
        lines.append(f"  - name: {n}\n    status: online")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def produce(args, topic, n, mode):
    subprocess.run([os.path.join(ROOT, "scripts", "kafka.sh"), "create-topic", args.bootstrap, topic,
                    str(PARTITIONS)], check=True, stdout=subprocess.DEVNULL)
    log(f"producing {n} {mode} messages to {topic}")
    out = subprocess.run([args.producer, args.bootstrap, topic, str(n), str(PARTITIONS), mode],
                         check=True, capture_output=True, text=True).stdout
    log(out.strip())


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def summarize(rows, n):
    return {"msgs_s": n / med(rows, "seconds"),
            "cpu_per_m": med(rows, "cpu") / n * 1e6,
            "rss_mb": med(rows, "rss_mb"),
            "runs": [f"{n / r['seconds']:,.0f}" for r in rows]}


def microbench(args):
    if not args.microbench:
        return None
    log("micro-benchmarks")
    out = subprocess.run([args.microbench, "--benchmark_format=json", "--benchmark_repetitions=3",
                          "--benchmark_report_aggregates_only=true"],
                         check=True, capture_output=True, text=True).stdout
    rows = []
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        rows.append((b["run_name"], b["cpu_time"], b["time_unit"]))
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--build-dir", required=True)
    p.add_argument("--messages", type=int, default=2_000_000)
    p.add_argument("--flood", type=int, default=1_000_000, help="distinct unknown names (0: skip)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--scrape-rounds", type=int, default=3, help="0: skip the scrape experiment")
    p.add_argument("--scrape-messages", type=int, default=0,
                   help="messages of the scrape experiment's own topic (default: 4 x --messages, "
                        "so that a drain lasts several scrape intervals)")
    p.add_argument("--no-reference", action="store_true")
    p.add_argument("--no-micro", action="store_true")
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--topic", help="reuse this topic (must hold exactly --messages) instead of producing")
    p.add_argument("--only", help="comma-separated contenders (raw,model-auditor,reference)")
    p.add_argument("--out", required=True)
    p.add_argument("--command", default="bench/run.sh")
    args = p.parse_args()
    b = args.build_dir
    args.daemon = os.path.join(b, "model-auditor")
    args.producer = os.path.join(b, "bench", "bench_producer")
    raw = os.path.join(b, "bench", "bench_raw_consumer")
    args.microbench = None if args.no_micro else os.path.join(b, "bench", "model_auditor_microbench")
    reference = [sys.executable, os.path.join(ROOT, "bench", "reference", "consumer.py")]
    registry = os.path.join(ROOT, "config", "registry.yaml")
    n = args.messages
    stamp = time.strftime("%Y%m%d%H%M%S")
    load_start = loadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())

    micro = microbench(args)
    topic = args.topic or f"bench-{stamp}"
    if not args.topic:
        produce(args, topic, n, "mixed")

    # Warm-up, not measured: one full drain with the raw consumer. The first
    # consumer group after the broker starts waits ~1 s for __consumer_offsets
    # to be created, and the broker's JIT compiles its fetch path during the
    # first drains; either would otherwise land on whoever runs first.
    log("warm-up drain (raw consumer, not measured)")
    run_exiting([raw, args.bootstrap, topic, f"bench-{stamp}-warmup", str(n)], n, args.timeout)

    work = tempfile.mkdtemp(prefix="model-auditor-bench.")
    contenders = ["raw", "model-auditor"] + ([] if args.no_reference else ["reference"])
    if args.only:
        contenders = [c for c in contenders if c in args.only.split(",")]
    results = {c: [] for c in contenders}
    for r in range(args.rounds):
        order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
        for c in order:
            group = f"bench-{stamp}-{c}-{r}"
            if c == "raw":
                res = run_exiting([raw, args.bootstrap, topic, group, str(n)], n, args.timeout)
            elif c == "reference":
                res = run_exiting(reference + [args.bootstrap, topic, group, str(n), registry], n,
                                  args.timeout * 4)
            else:
                res = run_daemon(args, topic, group, registry, n, work)
            results[c].append(res)
            log(f"round {r + 1} {c}: {n / res['seconds']:,.0f} msgs/s, cpu {res['cpu']:.2f}s, "
                f"peak RSS {res['rss_mb']:.0f} MB (load {loadavg()})")

    scrape_rows = None
    if args.scrape_rounds > 0:
        big = os.path.join(work, "registry-10000.yaml")
        big_registry(big, 10000)
        scrape_rows = {"without": [], "with": []}
        sn = args.scrape_messages or 4 * n
        scrape_topic = f"bench-{stamp}-scrape"
        produce(args, scrape_topic, sn, "mixed")
        for r in range(args.scrape_rounds):
            for variant in (("without", "with") if r % 2 == 0 else ("with", "without")):
                group = f"bench-{stamp}-scrape-{variant}-{r}"
                res = run_daemon(args, scrape_topic, group, big, sn, work,
                                 scrape_every=1.0 if variant == "with" else None, from_ready=True)
                scrape_rows[variant].append(res)
                log(f"scrape round {r + 1} {variant} 1 s scrapes: {sn / res['seconds']:,.0f} msgs/s"
                    + (f", scrape median {statistics.median(res['scrapes']) * 1000:.1f} ms"
                       if res["scrapes"] else ""))
        # One scrape at 1,000 + 10,000 series, end to end over HTTP, idle daemon.
        d = Daemon(args.daemon, args.bootstrap, topic, f"bench-{stamp}-scrape-idle", big, work)
        d.wait_counted(n, args.timeout)
        times, body = [], ""
        for _ in range(10):
            # Scrapes closer than 100 ms apart share one rendering (README
            # "Endpoint abuse"): space them so each one renders.
            time.sleep(0.15)
            t0 = time.monotonic()
            body = scrape(d.port)
            times.append(time.monotonic() - t0)
        d.stop()
        scrape_rows["idle_ms"] = statistics.median(times) * 1000
        scrape_rows["messages"] = sn
        scrape_rows["series"] = sum(1 for line in body.splitlines() if line and line[0] != "#")
        scrape_rows["unregistered"] = sum(
            1 for line in body.splitlines() if line.startswith("model_audit_unregistered_requests_total{"))
        scrape_rows["models"] = sum(
            1 for line in body.splitlines() if line.startswith("model_audit_model_requests_total{"))
        scrape_rows["bytes"] = len(body)

    flood = None
    if args.flood > 0:
        ftopic = f"bench-{stamp}-flood"
        produce(args, ftopic, args.flood, "flood")
        res_d = run_daemon(args, ftopic, f"bench-{stamp}-flood-auditor", registry, args.flood, work)
        res_r = run_exiting([raw, args.bootstrap, ftopic, f"bench-{stamp}-flood-raw", str(args.flood)],
                            args.flood, args.timeout)
        flood = {"auditor": res_d, "raw": res_r}
        log(f"flood: model-auditor peak RSS {res_d['rss_mb']:.0f} MB, "
            f"{args.flood / res_d['seconds']:,.0f} msgs/s; raw peak RSS {res_r['rss_mb']:.0f} MB")

    write_report(args, n, results, scrape_rows, flood, micro, started, load_start)
    shutil.rmtree(work, ignore_errors=True)  # kept on failure: daemon configs and logs


def write_report(args, n, results, scrape_rows, flood, micro, started, load_start):
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    s = {c: summarize(rows, n) for c, rows in results.items()}
    L = []
    L.append(f"# Throughput benchmark ({started})\n")
    L.append(f"Command: `{args.command}`  ")
    L.append(f"Commit: `{rev}`{' (with uncommitted changes)' if dirty else ''}; librdkafka 2.0.2; "
             f"{os.cpu_count()} CPUs, broker on the same machine; "
             f"load average at start {load_start}, at end {loadavg()}.  ")
    L.append(f"Workload: {n:,} messages (~1 KB JSON, 4 partitions, mixed verdicts, 1 in 5 with "
             f"X-Model-Name), fresh consumer group per run, {args.rounds} rounds alternating, "
             f"medians.\n")
    L.append("| consumer | msgs/s | CPU s per 1M msgs | peak RSS (MB) | runs (msgs/s) |")
    L.append("|---|---:|---:|---:|---|")
    for c, v in s.items():
        L.append(f"| {c} | {v['msgs_s']:,.0f} | {v['cpu_per_m']:.2f} | {v['rss_mb']:.0f} | "
                 f"{', '.join(v['runs'])} |")
    L.append("")
    if "raw" in s and "model-auditor" in s:
        L.append(f"- model-auditor / raw: **{s['model-auditor']['msgs_s'] / s['raw']['msgs_s']:.2f}x** "
                 f"msgs/s (target >= 0.90x); CPU per message "
                 f"{s['model-auditor']['cpu_per_m'] / s['raw']['cpu_per_m']:.2f}x the raw consumer's")
    if "reference" in s and "model-auditor" in s:
        L.append(f"- model-auditor / reference: **{s['model-auditor']['msgs_s'] / s['reference']['msgs_s']:.1f}x** "
                 f"msgs/s (target >= 10x); CPU per message "
                 f"{s['reference']['cpu_per_m'] / s['model-auditor']['cpu_per_m']:.1f}x less")
    L.append("")
    if scrape_rows:
        sn = scrape_rows["messages"]
        w, wo = summarize(scrape_rows["with"], sn), summarize(scrape_rows["without"], sn)
        all_scrapes = [x for r in scrape_rows["with"] for x in r["scrapes"]]
        L.append("## Scrapes during the drain\n")
        L.append(f"{sn:,} messages (a topic of its own, so that a drain spans several scrapes); "
                 f"registry of 10,000 models; the clock starts when /-/ready answers 200 (index "
                 f"built, group joined); the workload's names give "
                 f"{scrape_rows['unregistered']} unregistered series; one /metrics body has "
                 f"{scrape_rows['series']:,} samples ({scrape_rows['bytes'] / 1e6:.1f} MB).\n")
        L.append("| model-auditor | msgs/s | CPU s per 1M msgs | runs (msgs/s) |")
        L.append("|---|---:|---:|---|")
        L.append(f"| no extra scrapes | {wo['msgs_s']:,.0f} | {wo['cpu_per_m']:.2f} | {', '.join(wo['runs'])} |")
        L.append(f"| scrape every 1 s | {w['msgs_s']:,.0f} | {w['cpu_per_m']:.2f} | {', '.join(w['runs'])} |")
        L.append("")
        L.append(f"- throughput cost of 1 s scrapes: **{(1 - w['msgs_s'] / wo['msgs_s']) * 100:.1f}%** msgs/s, "
                 f"**{(w['cpu_per_m'] / wo['cpu_per_m'] - 1) * 100:.1f}%** CPU per message (target <= 5%); "
                 f"{len(all_scrapes)} scrapes in {len(scrape_rows['with'])} drains")
        if all_scrapes:
            L.append(f"- scrape latency during the drain: median {statistics.median(all_scrapes) * 1000:.1f} ms, "
                     f"max {max(all_scrapes) * 1000:.1f} ms")
        L.append(f"- one scrape, idle daemon, over HTTP: **{scrape_rows['idle_ms']:.1f} ms** (target <= 50 ms)")
        L.append("")
    if flood:
        fa, fr = flood["auditor"], flood["raw"]
        L.append("## Flood of distinct unknown names\n")
        L.append(f"{args.flood:,} messages, every one naming a different never-seen model.\n")
        L.append("| consumer | msgs/s | CPU s per 1M msgs | peak RSS (MB) |")
        L.append("|---|---:|---:|---:|")
        L.append(f"| model-auditor | {args.flood / fa['seconds']:,.0f} | {fa['cpu'] / args.flood * 1e6:.2f} | "
                 f"**{fa['rss_mb']:.0f}** |")
        L.append(f"| raw | {args.flood / fr['seconds']:,.0f} | {fr['cpu'] / args.flood * 1e6:.2f} | "
                 f"{fr['rss_mb']:.0f} |")
        L.append("")
        L.append("- peak RSS target: <= 200 MB")
        L.append("")
    if micro:
        L.append("## Micro-benchmarks (Google Benchmark, median of 3, CPU time)\n")
        L.append("| benchmark | time |")
        L.append("|---|---:|")
        for name, t, unit in micro:
            L.append(f"| `{name}` | {t:,.1f} {unit} |")
        L.append("")
    text = "\n".join(L)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
