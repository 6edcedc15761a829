"""tools/bitcheck --compare: identical hash files say so (exit 0); every field or indicator
that differs, is missing or is new is listed (exit 1). (Making the hashes runs the demo: the
lead runs it by hand before and after a refactoring, see the README.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "bitcheck"


def hashes(*changes: tuple[str, str, str | None]) -> dict:
    """A bitcheck result of one variant; each change is (kind, name, new hash or None to drop
    it)."""
    fields = {"flood_depth_max": "a1", "air_temperature": "b2"}
    indicators = {"flood.peak_flood_volume": "c3"}
    data = {"commit": "x", "minutes": 90.0,
            "variants": {"baseline": {"fields": fields, "indicators": indicators}}}  # fmt: skip
    for kind, name, value in changes:
        table = data["variants"]["baseline"][kind]
        if value is None:
            table.pop(name)
        else:
            table[name] = value
    return data


def compare(tmp_path, a: dict, b: dict) -> subprocess.CompletedProcess:
    (tmp_path / "a.json").write_text(json.dumps(a))
    (tmp_path / "b.json").write_text(json.dumps(b))
    return subprocess.run([sys.executable, str(TOOL), "--compare", str(tmp_path / "a.json"),
                           str(tmp_path / "b.json")], capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def test_identical_hashes_compare_identical(tmp_path):
    done = compare(tmp_path, hashes(), hashes())
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("identical: 3 hashes")


def test_each_difference_is_listed(tmp_path):
    changed = hashes(("fields", "flood_depth_max", "zz"), ("fields", "new_field", "dd"),
                     ("indicators", "flood.peak_flood_volume", None))  # fmt: skip
    done = compare(tmp_path, hashes(), changed)
    assert done.returncode == 1, done.stderr
    assert "3 differences" in done.stdout
    assert "baseline fields flood_depth_max: differs" in done.stdout
    assert "baseline fields new_field: only in B" in done.stdout
    assert "baseline indicators flood.peak_flood_volume: only in A" in done.stdout
    assert "air_temperature" not in done.stdout
