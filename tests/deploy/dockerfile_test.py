#!/usr/bin/env python3
"""deploy/docker/Dockerfile, checked without a docker engine.

No engine runs here, so the image is not built. What is checked for real:
- the stages: a Debian bookworm builder that uses the project's own scripts,
  a bookworm-slim final stage with a non-root USER and no -dev/toolchain;
- every package the final stage installs exists in bookworm (apt-cache);
- the shared libraries the built binary needs (ldd: direct and transitive)
  are all provided by those packages, their dependencies, or what
  debian:bookworm-slim already holds (the Essential packages and apt, with
  their dependencies), as dpkg -S and apt-cache depends resolve them here;
- every library package listed provides a library the binary links directly
  (no dead weight), and dropping librdkafka1 leaves a library uncovered (so the
  check can fail).

Usage: dockerfile_test.py DAEMON_BINARY
"""

import os
import re
import subprocess
import sys

import harness
from harness import check

DOCKERFILE = os.path.join(harness.SOURCE_DIR, "deploy/docker/Dockerfile")
MULTIARCH = "x86_64-linux-gnu"


def stages(text):
    """[(from_line, [instructions])], continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            out.append((line, []))
        elif out:
            out[-1][1].append(line)
    return out


def apt_installs(instructions):
    pkgs = []
    for ins in instructions:
        if not ins.upper().startswith("RUN "):
            continue
        for cmd in ins[4:].split("&&"):
            words = cmd.split()
            if words[:2] == ["apt-get", "install"]:
                pkgs += [w for w in words[2:] if not w.startswith("-")]
    return pkgs


def sh(*cmd):
    r = subprocess.run(list(cmd), capture_output=True, text=True)
    return r.returncode, r.stdout


def owners_of(paths):
    """{path: Debian package} for library paths (usrmerge-aware), one dpkg call."""
    variants = {}
    for path in paths:
        cands = [path, os.path.realpath(path)]
        for p in list(cands):
            cands.append(p[len("/usr"):] if p.startswith("/usr/lib/") else "/usr" + p)
        for c in cands:
            variants.setdefault(c, path)
    _, out = sh("dpkg", "-S", *variants)  # exits 1 when some variant is unknown
    found = {}
    for line in out.splitlines():
        pkg, _, file = line.partition(": ")
        if file in variants:
            found.setdefault(variants[file], pkg.split(":")[0])
    return found


class DependencyGraph:
    """Depends/PreDepends of the given packages, recursively, from one apt-cache call."""

    def __init__(self, roots):
        rc, out = sh("apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                     "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *sorted(roots))
        check(rc == 0, "apt-cache depends resolves %d packages" % len(roots))
        self.edges, current, virtual = {}, None, False
        for line in out.splitlines():
            if not line.startswith(" "):
                current = line.strip()
                self.edges.setdefault(current, set())
                continue
            m = re.match(r"\s*\|?(?:Pre)?Depends: (\S+)", line)
            if m:
                virtual = m.group(1).startswith("<")
                if not virtual:
                    self.edges[current].add(m.group(1).split(":")[0])
            elif virtual and line.startswith("    "):
                self.edges[current].add(line.strip().split(":")[0])  # a provider of the virtual

    def closure(self, pkgs):
        seen, pending = set(), list(pkgs)
        while pending:
            p = pending.pop()
            if p not in seen:
                seen.add(p)
                pending += self.edges.get(p, ())
        return seen


def libraries(binary):
    rc, out = sh("ldd", binary)
    check(rc == 0, "ldd %s" % binary)
    libs = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+) => (/\S+)", line)
        if m:
            libs[m.group(1)] = m.group(2)
    rc, out = sh("readelf", "-d", binary)
    direct = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))
    return libs, direct


def run():
    binary = sys.argv[1]
    st = stages(open(DOCKERFILE).read())
    check(len(st) == 2, "two stages (build, runtime)")
    (build_from, build), (final_from, final) = st
    check(re.match(r"FROM debian:bookworm\s+AS\s+\w+", build_from, re.I) is not None, "builder: debian:bookworm")
    check(final_from == "FROM debian:bookworm-slim", "final stage: debian:bookworm-slim")
    build_runs = " ".join(i for i in build if i.upper().startswith("RUN "))
    check("scripts/install-deps.sh" in build_runs and "scripts/build.sh" in build_runs,
          "the builder uses scripts/install-deps.sh and scripts/build.sh")
    user = [i.split()[1] for i in final if i.upper().startswith("USER ")]
    check(len(user) == 1 and user[0].split(":")[0] not in ("0", "root"), "final stage runs as a non-root USER (%s)" % user)
    check(any(i.startswith("COPY --from=") and "model-auditor" in i for i in final), "final stage copies the built binary")

    pkgs = apt_installs(final)
    check(pkgs, "final stage installs runtime packages: %s" % " ".join(pkgs))
    check(not any(p.endswith("-dev") or p in ("build-essential", "cmake", "gcc", "g++") for p in pkgs),
          "no -dev package or toolchain in the final stage")
    for p in pkgs:
        rc, out = sh("apt-cache", "show", "--no-all-versions", p)
        check(rc == 0 and re.search(r"^Package: %s$" % re.escape(p), out, re.M) is not None,
              "package %s exists in bookworm" % p)

    rc, out = sh("dpkg-query", "-W", "-f", "${Package} ${Essential}\n")
    essential = {l.split()[0] for l in out.splitlines() if l.endswith(" yes")}
    graph = DependencyGraph(set(pkgs) | essential | {"apt"})
    base = graph.closure(essential | {"apt"})
    print("base image (Essential + apt, with dependencies): %d packages" % len(base))

    libs, direct = libraries(binary)
    owners = owners_of(libs.values())
    for soname, path in sorted(libs.items()):
        check(path in owners, "%s (%s) belongs to a Debian package" % (soname, path))
    owners = {soname: owners[path] for soname, path in libs.items()}

    def uncovered(listed):
        have = graph.closure(listed) | base
        return sorted(s for s, o in owners.items() if o not in have)

    missing = uncovered(pkgs)
    check(not missing, "all %d shared libraries the binary needs come with the image (%s)"
          % (len(libs), ", ".join("%s:%s" % (s, owners[s]) for s in sorted(owners))) if not missing
          else "libraries not provided by the final stage: %s" % ", ".join("%s (%s)" % (s, owners[s]) for s in missing))
    direct_owners = {owners[s] for s in direct if s in owners}
    for p in pkgs:
        if p.startswith("lib"):
            check(p in direct_owners, "%s provides a library the binary links directly" % p)
    without = uncovered([p for p in pkgs if p != "librdkafka1"])
    check("librdkafka.so.1" in without, "without librdkafka1 the check fails (uncovered: %s)" % without)


if __name__ == "__main__":
    harness.main(run)
