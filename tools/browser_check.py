#!/usr/bin/python3
"""Opens a page in Debian's headless chromium and watches it through the DevTools protocol.

Used by the dashboard's browser test (tests/integration/test_dashboard.cpp) and by hand:

    tools/browser_check.py URL --seconds 6 --screenshot page.png

Every 0.25 s it evaluates, in the page, the live TR number (#tr's data-tr), the connection
state (#link) and the points each plot (canvas[data-points]) holds, and prints one JSON
object: {"samples": [{"t": s, "tr": n, "link": "...", "points": {...}}, ...]}. With
--screenshot it writes a PNG of the page at the end. Exits 2 when chromium is missing.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket  # Debian's python3-websocket

PROBE = """JSON.stringify({
  tr: Number(document.getElementById('tr') ? document.getElementById('tr').dataset.tr : -1),
  link: document.getElementById('link') ? document.getElementById('link').textContent : '',
  points: Object.fromEntries([...document.querySelectorAll('canvas')].map(c => [c.id, Number(c.dataset.points || 0)])),
  face: document.getElementById('face') ? document.getElementById('face').naturalWidth : 0
})"""


class DevTools:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=20)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:  # events arrive in between: skip them
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("--seconds", type=float, default=6.0, help="how long to watch the page")
    ap.add_argument("--screenshot", help="PNG of the page, written at the end")
    ap.add_argument("--size", default="1400,1000", help="window width,height")
    a = ap.parse_args()
    chromium = shutil.which("chromium")
    if not chromium:
        print("chromium is not installed (tools/setup installs it)", file=sys.stderr)
        return 2
    profile = tempfile.mkdtemp(prefix="hyper-chromium-")
    # --no-sandbox: CI runs as root; --disable-dev-shm-usage: containers have a small /dev/shm.
    proc = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
                             f"--user-data-dir={profile}", "--remote-debugging-port=0", f"--window-size={a.size}",
                             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        for _ in range(200):  # chromium writes its port here once it listens
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.05)
        port = int(open(port_file).read().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t.get("type") == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        tools.call("Page.enable")
        tools.call("Page.navigate", url=a.url)
        samples, start = [], time.monotonic()
        while time.monotonic() - start < a.seconds:
            time.sleep(0.25)
            r = tools.call("Runtime.evaluate", expression=PROBE, returnByValue=True)
            value = r.get("result", {}).get("value")
            if value:
                s = json.loads(value)
                s["t"] = round(time.monotonic() - start, 2)
                samples.append(s)
        if a.screenshot:
            shot = tools.call("Page.captureScreenshot", format="png")
            with open(a.screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        print(json.dumps({"samples": samples}))
        return 0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
