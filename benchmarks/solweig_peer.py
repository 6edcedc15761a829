"""Run the Rust SOLWEIG peer (the `solweig` PyPI package in its own venv) in a subprocess, for
the heat benchmarks. Its Python is $METROTWIN_PEER_SOLWEIG (default
/work/peers/solweig/bin/python); install: python3 -m venv /work/peers/solweig &&
/work/peers/solweig/bin/pip install solweig."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

PEER = os.environ.get("METROTWIN_PEER_SOLWEIG", "/work/peers/solweig/bin/python")


def run_peer(script: str, arrays: dict[str, np.ndarray], *args: str) -> tuple[list[float], str] | None:
    """Run ``script`` with the peer's Python, the ``arrays`` saved as ``NAME.npy`` files
    (passed in order) and ``args``. The script prints its times (s) on its second-to-last line
    and a free-text summary on its last. Returns (times, summary), or None, saying why."""
    if not Path(PEER).exists():
        print(f"peer: {PEER} not found; install: python3 -m venv /work/peers/solweig && "
              f"/work/peers/solweig/bin/pip install solweig (or set METROTWIN_PEER_SOLWEIG)")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name, values in arrays.items():
            np.save(Path(tmp) / f"{name}.npy", values)
            files.append(str(Path(tmp) / f"{name}.npy"))
        (Path(tmp) / "peer.py").write_text(script)
        res = subprocess.run([PEER, str(Path(tmp) / "peer.py"), *files, *args],
                             capture_output=True, text=True)  # fmt: skip
    if res.returncode:
        print(f"peer failed:\n{res.stderr[-3000:]}")
        return None
    lines = res.stdout.strip().splitlines()
    return [float(x) for x in lines[-2].split()], lines[-1]
