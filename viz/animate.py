"""Animations of a run over its output times: MP4 (H.264 through imageio-ffmpeg) or GIF.

One off-screen plotter per variant and theme; the static meshes are built once and only the
dynamic layers (water, heat, road speeds) change from frame to frame. Frames are kept small
(default 800 x 600) because software rendering is CPU-bound.
"""

from __future__ import annotations

from pathlib import Path

from metrotwin.errors import DataSourceError
from metrotwin.results.output import atomic_path
from metrotwin.results.rundata import open_variants
from metrotwin.viz.render import Scales, SceneRenderer, themes_of, title_of

ANIMATION_SIZE = (800, 600)
FORMATS = ("mp4", "gif")


def animate_run(run_dir, *, view: str = "overview", theme: str = "auto", fmt: str = "mp4",
                fps: float = 2.0, size=ANIMATION_SIZE, out: Path | None = None) -> list[Path]:  # fmt: skip
    """Animate every variant under ``run_dir`` (shared colour scales). Files go to
    ``<variant>/renders/<theme>_<view>.<fmt>`` (or ``out/<variant>/``). Returns the paths."""
    if fmt not in FORMATS:
        raise DataSourceError(
            f"unknown animation format {fmt!r}; valid formats: {', '.join(FORMATS)}"
        )
    runs = open_variants(run_dir)
    scales = Scales.of(runs)
    paths = []
    try:
        for run in runs:
            if len(run.times) < 2:
                raise DataSourceError(
                    f"{run.path}: the run has {len(run.times)} output time(s), nothing to "
                    "animate (models write fields every output_interval)"
                )
            folder = (Path(out) / run.name) if out else run.path / "renders"
            folder.mkdir(parents=True, exist_ok=True)
            themes = [t for t in themes_of(run, theme) if t != "city"]
            if not themes:
                raise DataSourceError(
                    f"{run.path}: no field changes over time in this run (no flood, heat or "
                    "traffic output), so there is nothing to animate; use `metrotwin render` "
                    "for a still of the city"
                )
            for th in themes:
                path = folder / f"{th}_{view.lower()}.{fmt}"
                animate_variant(run, path, view=view, theme=th, scales=scales, fps=fps, size=size)
                paths.append(path)
    finally:
        for run in runs:
            run.close()
    return paths


def animate_variant(run, path: Path, *, view: str, theme: str, scales: Scales, fps: float,
                    size) -> Path:  # fmt: skip
    import imageio.v2 as imageio

    r = SceneRenderer(run, theme=theme, scales=scales, size=size)
    try:
        with atomic_path(path) as tmp:
            target = tmp.with_suffix(path.suffix)
            if path.suffix == ".gif":
                writer = imageio.get_writer(target, mode="I", duration=1000 / fps, loop=0)
            else:
                writer = imageio.get_writer(target, fps=fps, codec="libx264", quality=7,
                                            macro_block_size=8, pixelformat="yuv420p")  # fmt: skip
            with writer:
                for i in range(len(run.times)):
                    writer.append_data(r.frame(i, view=view, title=title_of(run, i, theme)))
            target.replace(tmp)
    finally:
        r.close()
    return path
