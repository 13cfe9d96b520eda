"""``inspect-core serve``, the last step of ``make demo``, really serves: started through
the installed console command (Flask's own command line, where ``app.run()`` returns at
once without serving), it must answer HTTP until it is stopped."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_http_until_stopped(tmp_path: Path) -> None:
    command = shutil.which("inspect-core", path=str(Path(sys.executable).parent))
    assert command, "the inspect-core console command is not installed beside this Python"
    env = {
        **os.environ,
        "INSPECT_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "INSPECT_IMPORT_WORKERS": "1",  # no worker pool to start for this check
    }
    assert subprocess.run([command, "db", "upgrade"], env=env, capture_output=True).returncode == 0
    port = _free_port()
    server = subprocess.Popen(
        [command, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        status, deadline = None, time.monotonic() + 30
        while status is None and time.monotonic() < deadline:
            if server.poll() is not None:
                output = server.stdout.read().decode() if server.stdout else ""
                raise AssertionError(
                    f"serve exited ({server.returncode}) without serving:\n{output}"
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/openapi.json") as r:
                    status = r.status
            except OSError:
                time.sleep(0.2)
        assert status == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
        if server.stdout:
            server.stdout.close()
