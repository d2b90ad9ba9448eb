#!/usr/bin/env python3
"""deploy/grafana/dashboard.json against the real daemon's real scrape.

Runs the daemon on the real broker (KAFKA_BOOTSTRAP), produces messages of
every verdict (and malformed ones, and a header/body conflict), scrapes
/metrics once all are counted, and asserts that every metric name used in any
panel expression or variable query of the dashboard is in that scrape. Every
expression must also parse as PromQL (promtool check rules, with Grafana's
variables substituted), and the dashboard must be well-formed: schemaVersion,
a ${datasource} Prometheus variable used by every panel and target, unique
panel ids.

Usage: dashboard_test.py DAEMON_BINARY
"""

import json
import os
import re
import subprocess
import sys

import harness
from harness import check

DASHBOARD = os.path.join(harness.SOURCE_DIR, "deploy/grafana/dashboard.json")

# Series that Prometheus itself makes, not the daemon. Keep this minimal.
FROM_PROMETHEUS = {"up"}

PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                   "offset", "and", "or", "unless", "inf", "nan", "atan2"}

# Grafana's variables, replaced by something PromQL accepts.
GRAFANA_VARS = [("$__rate_interval", "1m"), ("$__interval", "1m"), ("$__range", "1h"),
                ("${job}", ".+"), ("$job", ".+")]


def metric_names(expr):
    """The metric names an expression selects (functions, labels, keywords dropped)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)     # string literals
    s = re.sub(r"\{[^}]*\}", " ", s)                  # label matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)                 # range and subquery selectors
    # label lists of grouping modifiers: by (a, b), without(...), on(...), group_left(...)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", s):
        word, is_call = m.group(1), m.group(2)
        if is_call or word.lower() in PROMQL_KEYWORDS:
            continue
        names.add(word)
    return names


def exprs_of(dashboard):
    """(where, expr) for every panel target (rows included) and variable query."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                out.append(("panel %r target %s" % (p.get("title"), t.get("refId")), t["expr"]))
            walk(p.get("panels", []))

    walk(dashboard["panels"])
    for v in dashboard["templating"]["list"]:
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.fullmatch(r"label_values\((.+),\s*\w+\)", q.strip())
            check(m is not None, "variable %s query is label_values(SELECTOR, LABEL): %s" % (v["name"], q))
            out.append(("variable " + v["name"], m.group(1)))
    return out


def check_structure(d):
    check(36 <= d.get("schemaVersion", 0) <= 41, "schemaVersion %s is a current one" % d.get("schemaVersion"))
    variables = {v["name"]: v for v in d["templating"]["list"]}
    ds = variables.get("datasource", {})
    check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
          "a 'datasource' variable of Prometheus data sources")
    ids, titles = set(), set()
    want = {"type": "prometheus", "uid": "${datasource}"}

    def walk(panels):
        for p in panels:
            check(p["id"] not in ids, "panel id %s is unique" % p["id"])
            ids.add(p["id"])
            titles.add(p["title"])
            g = p["gridPos"]
            check(0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, "panel %r fits the 24-column grid" % p["title"])
            if p["type"] != "row":
                check(p.get("datasource") == want, "panel %r uses ${datasource}" % p["title"])
                check(p.get("targets"), "panel %r has queries" % p["title"])
                for t in p["targets"]:
                    check(t.get("datasource") == want, "panel %r target %s uses ${datasource}" % (p["title"], t["refId"]))
            walk(p.get("panels", []))

    walk(d["panels"])
    return titles


def check_promql(exprs, workdir):
    rules = {"groups": [{"name": "dashboard", "rules": []}]}
    for i, (where, expr) in enumerate(exprs):
        for var, value in GRAFANA_VARS:
            expr = expr.replace(var, value)
        check("$" not in expr, "%s: no unsubstituted Grafana variable" % where)
        rules["groups"][0]["rules"].append({"record": "dashboard:expr_%d" % i, "expr": expr})
    path = os.path.join(workdir, "dashboard-exprs.rules.json")  # JSON is YAML
    with open(path, "w") as f:
        json.dump(rules, f)
    r = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    check(r.returncode == 0, "all %d expressions parse as PromQL (promtool check rules)%s"
          % (len(exprs), "" if r.returncode == 0 else ":\n" + r.stdout + r.stderr))


def traffic():
    def body(name):
        return json.dumps({"model_name": name, "prompt": "hello"})
    return [
        (body("Qwen3-Next-80B-Optimized"), {}),       # registered
        (body("qwen3_next_80b_optimized"), {}),       # alias
        (body("Qwen2-7B"), {}),                       # inactive (retired)
        (body("Qwen3-14B-Chat"), {}),                 # inactive (deprecated)
        (body("qwen3_next_72b_cloud"), {}),           # variant
        (body("Qwen3-Next-80B-Optimzed"), {}),        # typo
        (body("Qwen3-Next-80B-Local"), {}),           # unknown
        ('{"prompt": "no name here"}', {}),           # missing
        ('{"model_name": 42}', {}),                   # malformed: not_string
        ('{"model_name": "Qwen-Tiny", "prompt": ', {}),  # malformed: invalid_json
        (body("Qwen3-Next-80B-Optimized"), {"X-Model-Name": "Qwen3-Next-80B-Local"}),  # conflict
        ("plain text", {"X-Model-Name": "StableDiffusionXL"}),  # registered by header
    ]


def run():
    binary = sys.argv[1]
    with open(DASHBOARD) as f:
        d = json.load(f)
    titles = check_structure(d)
    for topic in ("by verdict", "unregistered names", "inactive models", "reload", "models by status",
                  "lag (messages)", "lag (seconds)", "throughput", "malformed", "overflow"):
        check(any(topic in t.lower() for t in titles), "a panel about %s" % topic)
    exprs = exprs_of(d)
    used = set()
    for _, e in exprs:
        used |= metric_names(e)
    print("dashboard: %d expressions use %d metric names" % (len(exprs), len(used)))

    with harness.temp_dir() as tmp:
        check_promql(exprs, tmp)
        topic = harness.unique("model-inference-requests")
        harness.create_topic(topic)
        msgs = traffic()
        harness.produce(topic, msgs)
        config = harness.write_config(tmp, topic, harness.unique("model-auditor-dash"))
        with harness.daemon(binary, config, os.path.join(tmp, "daemon.log")) as (addr, log):
            scrape = {}

            def counted():
                status, text = harness.http_get(addr, "/metrics")
                scrape["samples"], scrape["names"] = harness.parse_metrics(text)
                lag = 'model_audit_kafka_consumer_lag_messages{topic="%s",partition="0"}' % topic
                return (status == 200 and harness.messages_total(scrape["samples"], topic) >= len(msgs)
                        and scrape["samples"].get(lag) == 0)

            ok = harness.eventually(counted, 60)
            check(ok, "the daemon counted all %d messages from the real broker, lag 0%s"
                  % (len(msgs), "" if ok else "; log:\n" + log()))
        samples, names = scrape["samples"], scrape["names"]
        for verdict in ("malformed", "missing", "registered", "alias", "inactive", "variant", "typo", "unknown"):
            v = samples.get('model_audit_messages_total{topic="%s",verdict="%s"}' % (topic, verdict), 0)
            check(v > 0, "traffic has verdict %s (%d)" % (verdict, v))

        # Names with at least one sample, not just a # TYPE line: a panel needs data.
        names = {re.match(r"[^{]+", k).group(0) for k in samples}
        # The extractor finds a misspelt name, which the scrape then lacks.
        probe = metric_names('sum by (topic) (rate(model_audit_messages_totl{job=~"$job"}[$__rate_interval]))')
        check(probe == {"model_audit_messages_totl"} and not probe & names,
              "a misspelt metric in an expression would be caught")
        missing = []
        for name in sorted(used):
            if name in FROM_PROMETHEUS:
                print("ok   %s comes from Prometheus (whitelisted)" % name)
                continue
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if name in names or base in names:
                print("ok   %s has samples in the real scrape" % name)
            else:
                missing.append(name)
        check(not missing, "every metric the dashboard uses has samples in the real scrape"
              + ("" if not missing else " (missing: %s)" % ", ".join(missing)))
        check(FROM_PROMETHEUS <= used, "the whitelist has no unused entry")


if __name__ == "__main__":
    harness.main(run)
