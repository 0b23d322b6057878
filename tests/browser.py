"""A headless Chromium driven over the DevTools protocol on a pipe (no extra packages, no port):
open a page, run JavaScript in it, take a screenshot. The browser gets no network: every
host name resolves to nothing, and a proxy that does not exist takes any request that slips by."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


def find_chromium() -> str | None:
    """The Chromium executable on PATH (Debian: ``chromium``), or None."""
    return next((path for name in ("chromium", "chromium-browser", "google-chrome")
                 if (path := shutil.which(name))), None)


class Browser:
    """``with Browser() as b: b.open(url); b.evaluate("document.title"); b.screenshot(path)``."""

    def __init__(self, executable: str, width: int = 1200, height: int = 900):
        self._profile = tempfile.mkdtemp(prefix="gan_lessons_chromium_")
        to_browser_read, to_browser_write = os.pipe()
        from_browser_read, from_browser_write = os.pipe()

        def use_pipes():  # the DevTools pipe is file descriptors 3 (in) and 4 (out) of the browser
            reading, writing = os.dup(to_browser_read), os.dup(from_browser_write)  # out of the way of 3 and 4
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        self.process = subprocess.Popen(
            [executable, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", f"--user-data-dir={self._profile}",
             "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
             "--allow-file-access-from-files", f"--window-size={width},{height}", "about:blank"],
            close_fds=False, preexec_fn=use_pipes,  # os.pipe's own descriptors close on exec; 3 and 4 stay
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._out = os.fdopen(to_browser_write, "wb", buffering=0)
        self._in = os.fdopen(from_browser_read, "rb", buffering=0)
        self._buffer = b""
        self._next_id = 0
        target = self._call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self._call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self._call("Page.enable", session=True)
        self._call("Runtime.enable", session=True)
        self._call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                   deviceScaleFactor=1, mobile=False)

    def _call(self, method: str, session: bool = False, timeout: float = 60.0, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        self._out.write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
        raise TimeoutError(f"{method}: no answer from the browser within {timeout} s")

    def _receive(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = self._in.read(1 << 16)
            if not chunk:
                raise RuntimeError("the browser closed its DevTools pipe (did it crash?)")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def open(self, url: str, settle: str = "true", timeout: float = 60.0) -> None:
        """Load ``url`` and wait until the page has loaded and the JavaScript ``settle`` is true."""
        self._call("Page.navigate", session=True, url=url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(f"document.readyState === 'complete' && ({settle})"):
                return
            time.sleep(0.2)
        raise TimeoutError(f"{url} did not finish loading within {timeout} s")

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (JSON-serializable values)."""
        result = self._call("Runtime.evaluate", session=True, expression=expression, returnByValue=True,
                            awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript error in {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, full_page: bool = False) -> None:
        """Save a PNG of the viewport (or of the whole page)."""
        data = self._call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=full_page)
        Path(path).write_bytes(base64.b64decode(data["data"]))

    def close(self) -> None:
        try:
            self._call("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        self.process.wait(timeout=30) if self.process.poll() is None else None
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
