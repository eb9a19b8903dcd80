"""`tally bench --profile`: where one validator's CPU goes during the load, per function.

A sampling profiler (py-spy, when installed: `pip install py-spy`) attaches to the node's
process for the duration of the load, so the node runs unmodified and at full speed. It writes
the sampled stacks ("collapsed" format: one `frame;frame;... count` line per distinct stack) to
the given path, and this module writes beside it a per-function table (`.functions.txt`): the
share of busy samples where a function is on top of the stack (self) and anywhere on it
(inclusive). Samples of idle threads (a thread pool waiting for work) do not count as busy.
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from node.ops.bench_net import BenchError

SAMPLES_PER_SECOND = 100
_IDLE_LEAVES = ("_worker (", "select (", "wait (", "_wait_for_tstate_lock (")
TOP_FUNCTIONS = 40


def profiler() -> str:
    """The py-spy executable (the venv's first, then PATH); a coded error when there is none."""
    beside = Path(sys.executable).with_name("py-spy")
    if beside.exists():
        return str(beside)
    found = shutil.which("py-spy")
    if found is None:
        raise BenchError("PROFILER_MISSING", "--profile needs py-spy: pip install py-spy")
    return found


@contextmanager
def profiled(pid: int, output: Path) -> Iterator[None]:
    """Sample process `pid` while the block runs; then write `output` and its function table."""
    executable = profiler()
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [executable, "record", "--pid", str(pid), "--rate", str(SAMPLES_PER_SECOND)]
    command += ["--format", "raw", "--output", str(output), "--nonblocking"]
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)  # py-spy writes what it sampled, then exits
        try:
            _, errors = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            errors = b"py-spy did not stop"
    if not output.exists():
        message = errors.decode(errors="replace").strip()[-500:]
        raise BenchError("PROFILE_FAILED", f"py-spy wrote no profile: {message}")
    function_table_path(output).write_text(function_table(output.read_text()))


def function_table_path(output: Path) -> Path:
    return output.with_name(output.name + ".functions.txt")


def function_table(collapsed: str, top: int = TOP_FUNCTIONS) -> str:
    """Self and inclusive shares of busy samples per function, from collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    busy = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = stack.split(";")
        if frames[-1].startswith(_IDLE_LEAVES):
            continue
        count = int(count_text)
        busy += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"busy samples: {busy} ({SAMPLES_PER_SECOND}/s)", "", "self %  function"]
    lines += [f"{100 * n / busy:6.1f}  {name}" for name, n in own.most_common(top)] if busy else []
    lines += ["", "incl %  function"]
    lines += (
        [f"{100 * n / busy:6.1f}  {name}" for name, n in inclusive.most_common(top)] if busy else []
    )
    return "\n".join(lines) + "\n"
