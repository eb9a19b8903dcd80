"""`tally demo` (what `make demo` runs) as a user sees it: ready, explorer up, Ctrl-C cleans up."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

READY_TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _alive(pid: int) -> bool:
    """Running: a process that exited but that its new parent has not reaped yet (a zombie,
    state Z) runs nothing, and init may take a while to reap what the demo left it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _read_until_ready(process: subprocess.Popen[str]) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + READY_TIMEOUT_S
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Press Ctrl-C"):  # the last line of the ready block
            return lines
        assert time.monotonic() < deadline, "demo not ready in time:\n" + "".join(lines)
    raise AssertionError("demo exited before it was ready:\n" + "".join(lines))


def test_demo_reaches_ready_serves_the_explorer_and_ctrl_c_leaves_no_process(
    tmp_path: Path,
) -> None:
    data = tmp_path / "demo-data"
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "node",
        "demo",
        "--dir",
        str(data),
        "--explorer-port",
        str(port),
    ]
    for run in (1, 2):  # running it twice works: the second run recreates the data dir
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path
        )
        try:
            lines = _read_until_ready(process)
            text = "".join(lines)
            assert "\nready: 4 validator(s), three stories loaded." in text
            assert "[9/9] BigAuto repays INV-1001" in text
            assert "[11/11] After the close, the window settles" in text
            assert "[8/14] The block clock moves 100 days on" in text
            assert "Bank B gets 140,000.00 EUR, Fuel Co gets 60,000.00 EUR" in text
            assert "Rhein Parts now owes it 210,000.00 EUR, due at once" in text
            assert "[14/14] Rhein Parts repays Bank B the remaining 110,000.00 EUR" in text
            if run == 2:
                assert "Recreating" in text
            info = json.loads((data / "localnet.json").read_text())
            assert len(info["nodes"]) == 4
            pids = [node["pid"] for node in info["nodes"]]
            explorer = next(
                line.split()[1] for line in lines if line.strip().startswith("Explorer")
            )
            with urllib.request.urlopen(explorer, timeout=10) as page:
                assert page.status == 200
                assert b"Tallychain" in page.read()
            first, third = [line.split()[-1] for line in lines if "/receivable/" in line]
            with urllib.request.urlopen(first, timeout=10) as page:
                body = page.read().decode()
            assert "INV-1001" in body and "settled" in body
            if run == 1:  # the third story's invoice: defaulted, its first piece turned
                with urllib.request.urlopen(third, timeout=10) as page:
                    body = page.read().decode()
                assert "INV-1002" in body and 'data-testid="recourse-verdict"' in body
                assert "210,000.00 EUR" in body and "edge recourse" in body
        finally:
            process.send_signal(signal.SIGINT)
            remaining, _ = process.communicate(timeout=60)
        assert process.returncode == 0, remaining
        assert not [pid for pid in pids if _alive(pid)], "validators left running"
        with pytest.raises(OSError):
            urllib.request.urlopen(explorer, timeout=2)


def test_demo_stopped_mid_story_by_sigterm_leaves_no_process(tmp_path: Path) -> None:
    data = tmp_path / "demo-data"
    command = [sys.executable, "-m", "node", "demo", "--dir", str(data),
               "--explorer-port", str(_free_port())]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "[3/9]" in line:  # nodes and explorer are up, the first story is under way
            break
    else:
        raise AssertionError("demo exited early:\n" + "".join(seen))
    pids = [node["pid"] for node in json.loads((data / "localnet.json").read_text())["nodes"]]
    process.send_signal(signal.SIGTERM)
    remaining, _ = process.communicate(timeout=60)
    assert process.returncode == 130, remaining
    assert "Stopping" in remaining
    assert not [pid for pid in pids if _alive(pid)], "validators left running"
