"""Run the shell and Python examples of tutorials in order, in a scratch folder, and stop at
the first that fails: every CLI example in docs/ must work as written.

    .venv/bin/python docs/check_examples.py docs/tutorials/supplier.md docs/tutorials/bank.md

Blocks fenced as ```sh and ```python run; ```text and others are shown output, not run. A
block preceded by a line `<!-- not run: REASON -->` is skipped (servers that never return,
Docker). Variables a block sets carry over to later blocks. The folder is kept for
inspection and its localnet stopped at the end.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- not run: [^>]*-->\n)?```(sh|python)\n(.*?)```", re.S)


def _keep_variables(code: str) -> str:
    """Variables a block sets (`NODE=$(...)`) stay set for later blocks, as in one terminal."""
    names = re.findall(r"^(?:export )?([A-Z_]+)=(?:\$\(|\S+(?:\s+#.*)?$)", code, re.M)
    saves = "".join(f"\ndeclare -p {name} >> .doc-vars" for name in names)
    return f"[ -f .doc-vars ] && source .doc-vars\n{code}{saves}\n"


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="tally-docs-"))
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    env["PYTHONPATH"] = str(ROOT)
    ran = 0
    try:
        for name in sys.argv[1:]:
            for skip, kind, code in BLOCK.findall(Path(name).read_text()):
                if skip:
                    continue
                if kind == "sh":
                    code = _keep_variables(code)
                command = ["bash", "-euo", "pipefail", "-c", code] if kind == "sh" else [
                    str(ROOT / ".venv" / "bin" / "python"), "-c", code]  # fmt: skip
                result = subprocess.run(command, cwd=workdir, env=env, text=True,
                                        capture_output=True, timeout=300)  # fmt: skip
                ran += 1
                if result.returncode != 0:
                    print(f"FAILED in {name}:\n{code}\n{result.stdout}{result.stderr}")
                    return 1
        print(f"{ran} example blocks ran in {workdir}")
        return 0
    finally:
        for pid_file in workdir.glob("*/node.pid"):  # nodes a tutorial started by hand
            subprocess.run(["kill", pid_file.read_text().strip()], capture_output=True)
        if (workdir / "net" / "localnet.json").exists():
            subprocess.run(["tally", "localnet", "down", "--dir", "net"], cwd=workdir, env=env,
                           capture_output=True)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
