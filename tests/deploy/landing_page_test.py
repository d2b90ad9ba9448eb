#!/usr/bin/env python3
"""The landing page in a real headless Chromium, fed by the real broker.

Produces the twelve spellings of the phantom Qwen3-Next-80B-Local, the typo
Qwen3-Next-80B-Optimzed and a name carrying <script>alert(1)</script>, starts
the daemon on them, loads / in headless Chromium and asserts on the DOM the
browser built (--dump-dom): the phantom family row (qwen3next80blocal) with
its twelve spellings, the typo with its suggestion, and the script name shown
as text with no script element anywhere in the DOM. A screenshot
(--window-size=1280,900; and 1280x1500 for the whole table) is kept as a
test artifact; its path is printed.

Usage: landing_page_test.py DAEMON_BINARY ARTIFACT_DIR
"""

import html.parser
import json
import os
import shutil
import subprocess
import sys

import harness
from harness import check

SPELLINGS = [
    "Qwen3-Next-80B-Local", "qwen3-next-80b-local", "Qwen3_Next_80B_Local", "Qwen3Next80BLocal",
    "Qwen3-Next-80B-Local-Model", "Qwen3-Next-80B-Local-v1", "Qwen3-Next-80B-Local-Deployment",
    "Qwen3-Next-80B-Local-Instance", "Qwen3-Next-80B-Local-Prod", "Qwen3-Next-80B-Local-Test",
    "Qwen3-Next-80B-Local-Cluster", "Qwen3-Next-80B-Local-Service",
]
TYPO, TYPO_MEANT = "Qwen3-Next-80B-Optimzed", "Qwen3-Next-80B-Optimized"
SCRIPT_NAME = "<script>alert(1)</script>"


class Dom(html.parser.HTMLParser):
    """Table rows (class, [cell texts]) and every start tag seen."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows, self.tags = [], []
        self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self._row = (dict(attrs).get("class", ""), [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row[1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def chromium(profile, *args):
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--user-data-dir=" + profile] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    if r.returncode != 0:
        raise harness.CheckFailed("chromium exited %d: %s" % (r.returncode, r.stderr[-2000:]))
    return r.stdout


def run():
    binary, artifacts = sys.argv[1], sys.argv[2]
    os.makedirs(artifacts, exist_ok=True)
    with harness.temp_dir() as tmp:
        topic = harness.unique("model-inference-requests")
        harness.create_topic(topic)
        msgs = [(json.dumps({"model_name": n, "prompt": "p"}), {}) for n in SPELLINGS]
        msgs += [(json.dumps({"model_name": TYPO}), {})] * 3
        msgs += [(json.dumps({"model_name": SCRIPT_NAME}), {})]
        msgs += [(json.dumps({"model_name": "Qwen3-Next-80B-Optimized"}), {})] * 5
        harness.produce(topic, msgs)
        config = harness.write_config(tmp, topic, harness.unique("model-auditor-page"))
        with harness.daemon(binary, config, os.path.join(tmp, "daemon.log")) as (addr, log):
            ok = harness.eventually(lambda: harness.messages_total(
                harness.parse_metrics(harness.http_get(addr, "/metrics")[1])[0], topic) >= len(msgs), 60)
            check(ok, "the daemon counted all %d messages%s" % (len(msgs), "" if ok else "; log:\n" + log()))

            url = "http://%s/" % addr
            profile = os.path.join(tmp, "chromium-profile")
            dom_text = chromium(profile, "--dump-dom", url)
            shutil.rmtree(profile, ignore_errors=True)
            screenshot = os.path.join(artifacts, "landing.png")
            if os.path.exists(screenshot):
                os.remove(screenshot)
            chromium(profile, "--screenshot=" + screenshot, "--window-size=1280,900", "--hide-scrollbars", url)
            # The whole table (the typo and script rows are below the first screen).
            full = os.path.join(artifacts, "landing-full.png")
            chromium(profile, "--screenshot=" + full, "--window-size=1280,1500", "--hide-scrollbars", url)

        with open(os.path.join(artifacts, "landing.dom.html"), "w") as f:
            f.write(dom_text)
        dom = Dom()
        dom.feed(dom_text)
        check("html" in dom.tags and "table" in dom.tags, "Chromium rendered the page (%d tags)" % len(dom.tags))

        # Group name rows under the family row that precedes them.
        families, current = {}, None
        for cls, cells in dom.rows:
            if "family" in cls.split():
                current = cells[0]
                families[current] = []
            elif current is not None and len(cells) >= 4:
                families[current].append(cells)
        phantom = [f for f in families if "qwen3next80blocal" in f]
        check(len(phantom) == 1, "one family row for qwen3next80blocal (families: %s)" % list(families))
        check("12 spellings" in phantom[0], "the family row says 12 spellings: %r" % phantom[0])
        names = sorted(c[0] for c in families[phantom[0]])
        check(names == sorted(SPELLINGS), "its rows are the twelve spellings: %s" % names)
        check(all(c[1] == "unknown" and c[2] in ("\u2014", "") for c in families[phantom[0]]),
              "each spelling is unknown, with no suggestion")

        rows = [c for fam in families.values() for c in fam]
        typo = [c for c in rows if c[0] == TYPO]
        check(len(typo) == 1 and typo[0][1] == "typo" and typo[0][2] == TYPO_MEANT and typo[0][3] == "3",
              "the typo row: %s -> typo, suggestion %s, 3 messages (%s)" % (TYPO, TYPO_MEANT, typo))

        script = [c for c in rows if c[0] == SCRIPT_NAME]
        check(len(script) == 1 and script[0][1] == "unknown",
              "the name %s is shown as text in its own row" % SCRIPT_NAME)
        check("script" not in dom.tags, "no script element in the DOM (tags: %s)" % sorted(set(dom.tags)))
        check("&lt;script&gt;alert(1)&lt;/script&gt;" in dom_text, "the DOM carries the name escaped")

        size = os.path.getsize(screenshot) if os.path.exists(screenshot) else 0
        with open(screenshot, "rb") as f:
            head = f.read(24)
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        check(head[:8] == b"\x89PNG\r\n\x1a\n" and (width, height) == (1280, 900),
              "a 1280x900 PNG screenshot (%d bytes)" % size)
        print("landing page screenshot: " + os.path.abspath(screenshot))
        print("whole table: " + os.path.abspath(full))


if __name__ == "__main__":
    harness.main(run)
