#!/usr/bin/python3
"""The Python reference for the throughput benchmark: the same job as
model-auditor, written the way a team would write it in an afternoon.

confluent-kafka (librdkafka underneath) with batch consume(), json.loads,
dict lookups against the registry (exact name, alias, then a normalized form
for variants; no fuzzy typo matching, which would only make it slower), and
prometheus_client counters served on /metrics.

    consumer.py BOOTSTRAP TOPIC GROUP COUNT REGISTRY_YAML [METRICS_PORT]

Exits once COUNT messages were counted; prints "consumed=N seconds=S".
"""
import json
import re
import sys
import time

import yaml
from confluent_kafka import Consumer
from prometheus_client import Counter, start_http_server

START = time.monotonic()
MESSAGES = Counter("model_audit_messages", "Messages by verdict", ["topic", "verdict"])
MODEL_REQUESTS = Counter("model_audit_model_requests", "Requests per registry model",
                         ["model", "status"])
UNREGISTERED = Counter("model_audit_unregistered_requests", "Requests naming no registry model",
                       ["model_name", "verdict", "suggestion"])
MAX_SERIES = 1000
NON_ALNUM = re.compile(r"[^a-z0-9]")
DECORATIONS = re.compile(r"(model|v\d+|deployment|instance|prod|production|staging|test|cluster|"
                         r"service|svc|latest)$")


def normalize(name):
    return NON_ALNUM.sub("", name.lower())


def load_registry(path):
    with open(path, encoding="utf-8") as f:
        models = yaml.safe_load(f)["models"]
    exact, normalized = {}, {}
    for m in models:
        serving = m["status"] in ("online", "testing")
        verdict = "registered" if serving else "inactive"
        exact[m["name"]] = (verdict, m["name"], m["status"])
        for alias in m.get("aliases", []):
            exact[alias] = ("alias" if serving else "inactive", m["name"], m["status"])
        for n in [m["name"]] + m.get("aliases", []):
            normalized[normalize(n)] = m["name"]
    return exact, normalized


def classify(name, exact, normalized):
    hit = exact.get(name)
    if hit:
        return hit
    form = normalize(name)
    while form:
        if form in normalized:
            return ("variant", normalized[form], None)
        stripped = DECORATIONS.sub("", form)
        if stripped == form:
            break
        form = stripped
    return ("unknown", "", None)


def main():
    bootstrap, topic, group, count, registry = sys.argv[1:6]
    if len(sys.argv) > 6:
        start_http_server(int(sys.argv[6]), addr="127.0.0.1")
    exact, normalized = load_registry(registry)
    count = int(count)
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
    })
    consumer.subscribe([topic])
    seen_names = set()
    done = 0
    while done < count:
        for msg in consumer.consume(num_messages=1000, timeout=1.0):
            if msg.error():
                continue
            done += 1
            name = None
            for key, value in msg.headers() or ():
                if key == "X-Model-Name" and value:
                    name = value.decode("utf-8", "replace")
            if name is None:
                try:
                    body = json.loads(msg.value())
                except (ValueError, TypeError):
                    MESSAGES.labels(msg.topic(), "malformed").inc()
                    continue
                if isinstance(body, dict):
                    name = body.get("model_name") or body.get("model")
            if not name:
                MESSAGES.labels(msg.topic(), "missing").inc()
                continue
            verdict, model, status = classify(name, exact, normalized)
            MESSAGES.labels(msg.topic(), verdict).inc()
            if status is not None:
                MODEL_REQUESTS.labels(model, status).inc()
            else:
                if name in seen_names or len(seen_names) < MAX_SERIES:
                    seen_names.add(name)
                    UNREGISTERED.labels(name, verdict, model).inc()
    done_at = time.monotonic()  # CLOCK_MONOTONIC, the driver's clock
    consumer.close()
    print(f"consumed={done} seconds={done_at - START:.3f} done_at={done_at:.6f}")


if __name__ == "__main__":
    main()
