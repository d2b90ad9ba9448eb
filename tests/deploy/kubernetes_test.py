#!/usr/bin/env python3
"""deploy/kubernetes/ validated offline.

- Core objects: kubernetes-validate (PyPI, schemas bundled in the wheel),
  strict (unknown fields rejected), against Kubernetes 1.29 (the first release
  with native sidecars on by default) and the newest bundled.
- PodMonitor (a CRD, which kubernetes-validate has no schema for): the
  validators of @kubernetes-models/prometheus-operator (npm), generated from
  prometheus-operator's API types, run on Node.js.
- The plain scrape config: promtool check config. Debian's promtool is built
  without Kubernetes service discovery, so it checks a copy whose
  kubernetes_sd_configs block is swapped for a static target (everything else,
  relabelling included, is the shipped text); the swapped block is checked here.
- What the schemas cannot say: the sidecar contract (probes never on
  /-/ready, restricted securityContext, grace period over the close budget,
  names and ports that the PodMonitor and NetworkPolicy refer to), and the
  ConfigMaps' config and registry pass the daemon's own --config.check laid
  out at their mount paths.
- Each validator must also reject a broken copy, or its pass means nothing.

Run with the venv's python (it has PyYAML):
  kubernetes_test.py TOOLS_DIR DAEMON_BINARY
"""

import copy
import json
import os
import re
import subprocess
import sys

import yaml

import harness
from harness import check

K8S = os.path.join(harness.SOURCE_DIR, "deploy/kubernetes")
WORKLOAD = os.path.join(K8S, "model-auditor.yaml")
PODMONITOR = os.path.join(K8S, "podmonitor.yaml")
SCRAPE = os.path.join(K8S, "prometheus-scrape-config.yaml")


def kubernetes_validate(tools, path, version):
    return subprocess.run([os.path.join(tools, "venv/bin/kubernetes-validate"), "--strict", "--no-warn",
                           "-k", version, path], capture_output=True, text=True)


def latest_bundled(tools):
    import kubernetes_validate.utils as u  # the venv's package
    return u.latest_version()


def validate_podmonitors(tools, docs):
    return subprocess.run(["node", os.path.join(os.path.dirname(__file__), "validate_podmonitor.mjs"),
                           os.path.join(tools, "npm/node_modules")] + [json.dumps(d) for d in docs],
                          capture_output=True, text=True)


def by_kind(docs, kind):
    return [d for d in docs if d and d.get("kind") == kind]


def check_core(tools, tmp):
    for version in ("1.29.0", latest_bundled(tools)):
        r = kubernetes_validate(tools, WORKLOAD, version)
        passed = r.stdout.count(" passed ")
        check(r.returncode == 0 and passed == 4,
              "model-auditor.yaml: 4 objects valid (strict) against Kubernetes %s%s"
              % (version, "" if r.returncode == 0 else ":\n" + r.stdout + r.stderr))
    # A misspelt field in the sidecar's securityContext must be rejected.
    broken = open(WORKLOAD).read().replace("readOnlyRootFilesystem: true", "readOnlyRootFilesytem: true", 1)
    path = os.path.join(tmp, "broken.yaml")
    with open(path, "w") as f:
        f.write(broken)
    r = kubernetes_validate(tools, path, "1.29.0")
    check(r.returncode != 0 and "readOnlyRootFilesytem" in r.stdout + r.stderr,
          "the validator rejects a misspelt field")


def container_ok(c, what):
    sc = c.get("securityContext", {})
    check(sc.get("allowPrivilegeEscalation") is False and sc.get("readOnlyRootFilesystem") is True
          and sc.get("runAsNonRoot") is True and sc.get("capabilities", {}).get("drop") == ["ALL"]
          and sc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
          "%s: restricted securityContext" % what)
    res = c.get("resources", {})
    check(all(k in res.get("requests", {}) for k in ("cpu", "memory"))
          and all(k in res.get("limits", {}) for k in ("cpu", "memory")),
          "%s: cpu and memory requests and limits" % what)


def check_contract(docs, binary, tmp):
    dep = by_kind(docs, "Deployment")[0]
    pod = dep["spec"]["template"]["spec"]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    sidecars = [c for c in pod.get("initContainers", []) if c.get("restartPolicy") == "Always"]
    check(len(sidecars) == 1 and sidecars[0]["name"] == "model-auditor",
          "model-auditor is a native sidecar (initContainers, restartPolicy: Always)")
    side = sidecars[0]
    check(pod["securityContext"].get("runAsNonRoot") is True
          and pod["securityContext"].get("seccompProfile", {}).get("type") == "RuntimeDefault",
          "pod securityContext: runAsNonRoot, seccomp RuntimeDefault")
    for c in pod["initContainers"] + pod["containers"]:
        container_ok(c, "container " + c["name"])

    probes = {k: side[k]["httpGet"]["path"] for k in ("startupProbe", "readinessProbe", "livenessProbe")}
    check("/-/ready" not in probes.values(), "no sidecar probe depends on Kafka (/-/ready): %s" % probes)
    check(probes["livenessProbe"] == "/-/healthy", "liveness on /-/healthy (poll-loop progress)")
    check(probes["readinessProbe"] in ("/metrics", "/-/healthy") and probes["startupProbe"] in ("/metrics", "/-/healthy"),
          "startup and readiness on an endpoint that reflects serving")

    ports = {p["name"]: p["containerPort"] for p in side["ports"]}
    listen = [a.split("=", 1)[1] for a in side["args"] if a.startswith("--web.listen-address=")]
    check(listen == ["0.0.0.0:9847"] and ports.get("audit-metrics") == 9847,
          "listens on 0.0.0.0:9847, the port named audit-metrics")
    for k, path in probes.items():
        check(side[k]["httpGet"]["port"] in ports, "%s targets a declared port" % k)

    # The ConfigMaps laid out at their mount paths, checked by the daemon itself.
    cms = {cm["metadata"]["name"]: cm for cm in by_kind(docs, "ConfigMap")}
    vols = {v["name"]: v["configMap"]["name"] for v in pod["volumes"]}
    root = os.path.join(tmp, "root")
    for m in side["volumeMounts"]:
        check("subPath" not in m, "mount %s is a directory (updates reach the daemon)" % m["mountPath"])
        d = root + m["mountPath"]
        os.makedirs(d)
        for fname, content in cms[vols[m["name"]]]["data"].items():
            with open(os.path.join(d, fname), "w") as f:
                f.write(content)
    config_arg = [a.split("=", 1)[1] for a in side["args"] if a.startswith("--config.file=")][0]
    r = subprocess.run([binary, "--config.file", root + config_arg, "--config.check"], capture_output=True, text=True)
    check(r.returncode == 0, "the ConfigMaps pass --config.check at their mount paths%s"
          % ("" if r.returncode == 0 else ":\n" + r.stdout + r.stderr))
    close = re.search(r"close_timeout:\s*(\d+)s", cms["model-auditor-config"]["data"]["config.yaml"])
    close_s = int(close.group(1)) if close else 5
    check(pod["terminationGracePeriodSeconds"] >= close_s + 10,
          "terminationGracePeriodSeconds %d > close_timeout %ds + margin" % (pod["terminationGracePeriodSeconds"], close_s))

    # The NetworkPolicy opens the audit port to monitoring only.
    np_ = by_kind(docs, "NetworkPolicy")[0]
    check(np_["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items(), "NetworkPolicy selects the pods")
    audit_rules = [r for r in np_["spec"]["ingress"] if any(p["port"] == "audit-metrics" for p in r.get("ports", []))]
    check(len(audit_rules) == 1 and audit_rules[0].get("from"), "port audit-metrics admits only listed peers")
    return dep, pod_labels, ports


def check_podmonitor(tools, dep, pod_labels, ports, tmp):
    pms = by_kind(list(yaml.safe_load_all(open(PODMONITOR))), "PodMonitor")
    check(len(pms) == 1, "podmonitor.yaml holds one PodMonitor")
    r = validate_podmonitors(tools, pms)
    check(r.returncode == 0, "PodMonitor valid against prometheus-operator's schema: %s" % (r.stdout + r.stderr).strip())
    pm = pms[0]
    check(pm["metadata"]["namespace"] == dep["metadata"]["namespace"], "PodMonitor in the workload's namespace")
    check(pm["spec"]["selector"]["matchLabels"].items() <= pod_labels.items(), "PodMonitor selects the pods")
    check(all(e["port"] in ports and e.get("path", "/metrics") == "/metrics"
              for e in pm["spec"]["podMetricsEndpoints"]), "PodMonitor scrapes the audit-metrics port at /metrics")
    bad = copy.deepcopy(pm)
    bad["spec"]["podMetricsEndpoints"][0]["interval"] = "15 seconds"
    bad2 = copy.deepcopy(pm)
    del bad2["spec"]["selector"]
    for b, what in ((bad, "a malformed interval"), (bad2, "a missing selector")):
        r = validate_podmonitors(tools, [b])
        check(r.returncode != 0, "the PodMonitor validator rejects %s (%s)" % (what, r.stdout.strip()))


def check_scrape_config(dep, ports, tmp):
    cfg = yaml.safe_load(open(SCRAPE))
    job = cfg["scrape_configs"][0]
    sd = job["kubernetes_sd_configs"]
    check(len(sd) == 1 and sd[0]["role"] == "pod" and set(sd[0]) <= {"role", "namespaces"}
          and sd[0]["namespaces"]["names"] == [dep["metadata"]["namespace"]],
          "kubernetes_sd_configs: role pod in the workload's namespace")
    keep = [r for r in job["relabel_configs"] if r.get("action") == "keep"
            and r["source_labels"] == ["__meta_kubernetes_pod_container_port_name"]]
    check(len(keep) == 1 and keep[0]["regex"] in ports, "keeps only the audit-metrics port")
    swapped = copy.deepcopy(cfg)
    del swapped["scrape_configs"][0]["kubernetes_sd_configs"]
    swapped["scrape_configs"][0]["static_configs"] = [{"targets": ["127.0.0.1:9847"]}]
    path = os.path.join(tmp, "prometheus.yml")
    with open(path, "w") as f:
        yaml.safe_dump(swapped, f)
    r = subprocess.run(["promtool", "check", "config", path], capture_output=True, text=True)
    check(r.returncode == 0, "the scrape config passes promtool check config (SD swapped)%s"
          % ("" if r.returncode == 0 else ":\n" + r.stdout + r.stderr))


def run():
    tools, binary = sys.argv[1], sys.argv[2]
    docs = list(yaml.safe_load_all(open(WORKLOAD)))
    with harness.temp_dir() as tmp:
        check_core(tools, tmp)
        dep, labels, ports = check_contract(docs, binary, tmp)
        check_podmonitor(tools, dep, labels, ports, tmp)
        check_scrape_config(dep, ports, tmp)


if __name__ == "__main__":
    harness.main(run)
