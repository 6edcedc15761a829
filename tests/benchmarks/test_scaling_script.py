"""benchmarks/scaling.py runs each count ``--repeats`` times in one temporary folder: every run
must get its own output folder, since ``metrotwin run`` refuses to write into a finished run
(tests/engine/run/test_output_guard.py checks that refusal on the real CLI)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "scaling.py"
#: stands in for the launcher and the run (a real one takes ~5-10 s here): like ``metrotwin
#: run``, it refuses an output folder that holds a finished run, else leaves one there
FAKE_LAUNCHER = """
import sys
from pathlib import Path
out = Path(sys.argv[sys.argv.index("-o") + 1])
if (out / "baseline" / "scenario.resolved.yaml").exists():
    sys.exit(f"metrotwin: error: {out} holds a finished run")
(out / "baseline").mkdir(parents=True)
(out / "baseline" / "scenario.resolved.yaml").write_text(
    "run: {model_wall_time_s: {flood: 2.5}, halo_exchange_s: 0.5}")
"""


def test_repeated_runs_of_one_count_each_get_a_folder(tmp_path):
    spec = importlib.util.spec_from_file_location("scaling_script", SCRIPT)
    scaling = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scaling)
    fake = tmp_path / "fake_launcher.py"
    fake.write_text(FAKE_LAUNCHER)
    work = tmp_path / "work"
    work.mkdir()
    launcher = f"{sys.executable} {fake} {{n}}"
    runs = [scaling.run_once(scaling.FLOOD, 4, launcher, work) for _ in range(3)]
    assert [(r["models"], r["halo"]) for r in runs] == [(2.5, 0.5)] * 3
    assert len(list(work.glob("out4-*"))) == 3
