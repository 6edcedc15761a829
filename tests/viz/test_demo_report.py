"""End to end on the demo: `metrotwin run`, then the comparison report; the page opens in
headless Chromium (Debian's ``chromium``, which .ci/run installs) and is not blank; every image
in it is a real picture of the expected size."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests._support.pictures import inlined_images, is_real_picture

DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def demo_report(demo_run_dir):
    report = demo_run_dir / "comparison" / "report.html"
    assert report.is_file(), "`metrotwin run` of a scenario with variants wrote no report"
    return report


@pytest.mark.slow
def test_demo_report_images_are_real_pictures(demo_report):
    html = demo_report.read_text(encoding="utf-8")
    for name in ("baseline", "green_blue", "cool_city", "Northbank", "Oldtown", "Eastfield"):
        assert name in html
    pics = list(inlined_images(html))
    assert pics
    renders = [img for mime, img in pics if mime == "image/jpeg"]
    assert len(renders) >= 3  # a 3D view of every variant
    for img in renders:
        assert img.shape == (768, 1024, 3)
    for _, img in pics:
        assert is_real_picture(img)
    assert (demo_report.parent / "comparison.nc").is_file()
    assert (demo_report.parent / "indicators.csv").is_file()


def chromium() -> str:
    """Debian's chromium. The tests install nothing: .ci/run installs it, so in CI (``CI`` set
    to true) a missing browser is a failure; elsewhere the test is skipped, saying how to get
    it."""
    found = shutil.which("chromium") or (str(DEBIAN_CHROMIUM) if DEBIAN_CHROMIUM.exists() else None)
    if found:
        return found
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail("chromium is missing in CI: .ci/run installs Debian's chromium as root")
    pytest.skip("chromium is not installed (Debian: apt-get install chromium, or run .ci/run)")


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception),
                                         ("", pytest.skip.Exception)])  # fmt: skip
def test_missing_chromium_fails_in_ci_and_skips_elsewhere(monkeypatch, tmp_path, ci, outcome):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(f"{__name__}.DEBIAN_CHROMIUM", tmp_path / "chromium")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("a test ran a command"))
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="chromium"):
        chromium()


def screenshot(browser: str, page: Path, png: Path, width: int, height: int, tmp: Path):
    cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp / f'profile{width}'}",
           f"--screenshot={png}", f"--window-size={width},{height}", page.as_uri()]  # fmt: skip
    subprocess.run(cmd, capture_output=True, timeout=180, check=False)
    assert png.is_file(), "chromium wrote no screenshot"
    return np.asarray(Image.open(png).convert("RGB"))


@pytest.mark.slow
def test_demo_report_opens_in_headless_chromium(demo_report, tmp_path):
    browser = chromium()
    for width, height in ((1280, 2000), (390, 1600)):  # a desktop, and a phone's width
        img = screenshot(
            browser, demo_report, tmp_path / f"page{width}.png", width, height, tmp_path
        )
        assert img.shape[:2] == (height, width)
        assert img.std() > 20, "the page rendered blank"
        # text in the top part: many dark pixels on the white page
        top = img[: height // 4]
        assert (top.sum(axis=2) < 200).mean() > 0.005
    dom = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'dom'}",
                          "--dump-dom", demo_report.as_uri()], capture_output=True, text=True,
                         timeout=180)  # fmt: skip
    assert "Per municipality" in dom.stdout and dom.stdout.count("<img") >= 3


@pytest.mark.slow
def test_demo_report_says_what_is_better_and_why(demo_report):
    """Issue 16 item 6 on the demo: more water drained or infiltrated is better, rain fallen
    is neither; temperature changes have no percent; the morning run has no night rows;
    where cool roofs raise walkers' heat exposure, the card says why (reflected sunlight)."""
    rows = list(csv.DictReader((demo_report.parent / "indicators.csv").open()))
    total = {(r["variant"], r["model"], r["indicator"]): r for r in rows if r["scope"] == "total"}
    for name in ("volume_drainage", "volume_infiltration"):
        row = total[("green_blue", "flood", name)]
        assert float(row["change"]) > 0 and row["verdict"] == "better", name
    assert total[("green_blue", "flood", "volume_rain")]["verdict"] in ("same", "changed")
    assert total[("cool_city", "heat", "utci_mean")]["change_percent"] == ""
    assert not [r for r in rows if r["indicator"].endswith("_night")]  # 06:00-12:00
    page = demo_report.read_text(encoding="utf-8")
    assert "_night" not in page
    cards = {card.split("</h3>")[0].split("<h3>")[-1].split(" ")[0]: card
             for card in page.split("<div class='card'>")[1:]}  # fmt: skip
    rise = float(total[("cool_city", "mobility", "heat_exposure_minutes_above_38")]["change"])
    assert ("reflected shortwave" in cards["cool_city"]) == (rise > 0)
    assert "reflected shortwave" not in cards["green_blue"]  # no cool roofs there
