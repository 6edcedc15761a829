"""A 3D still reads on its own (issue 16, item 6): it has a scale bar as long as the ground
it measures, a north arrow pointing north, and a legend of the land-cover colours (and of
closed roads) that fits inside the picture at any size, an animation's small frames too."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.viz.colors import ROAD_CLOSED_RGB
from metrotwin.viz.render import SceneRenderer
from metrotwin.results.rundata import VariantRun

from tests._support.synthetic import write_synthetic_run


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return write_synthetic_run(tmp_path_factory.mktemp("syn") / "baseline")


def patch_count(img: np.ndarray, rgb, box=None) -> int:
    """Pixels of exactly ``rgb`` (within the box (r0, r1, c0, c1) if given)."""
    if box is not None:
        img = img[box[0] : box[1], box[2] : box[3]]
    return int(np.all(img == np.asarray(rgb, dtype=img.dtype), axis=-1).sum())


@pytest.mark.parametrize("size", [(800, 600), (480, 400)])
def test_the_legend_shows_every_class_drawn_and_closed_roads_inside_the_frame(synthetic, size):
    """The flood theme at the time roads are closed, at the animation's default size and a
    smaller one: every legend swatch is drawn whole, in the picture's top right."""
    run = VariantRun(synthetic)
    r = SceneRenderer(run, theme="flood", size=size)
    try:
        img = r.frame(1, view="overview", title="a title")
        classes = r.scene.land_cover_classes()
        assert classes, "the synthetic run has land cover"
        w = img.shape[1]
        font = r.font + 1
        top_right = (0, img.shape[0] // 2, w // 2, w)
        for name, rgb in classes:  # a whole swatch (font x font px) of the class colour
            assert patch_count(img, rgb, top_right) >= (font - 2) ** 2, name
        # the closed-road entry: a line sample of the magenta, also in the top right
        assert patch_count(img, ROAD_CLOSED_RGB, top_right) >= font, "closed road"
    finally:
        r.close()


def test_scale_bar_measures_the_ground_and_north_points_north(synthetic):
    """From the top, the bar's length in pixels over the domain's width in pixels is its
    length over the domain's width (1 % for rounding), and north is up the picture."""
    run = VariantRun(synthetic)
    r = SceneRenderer(run, theme="city", size=(640, 480))
    try:
        r.frame(0, view="top")
        sc = r.scene
        length = sc.scale_bar_length()
        mantissa = length / 10 ** np.floor(np.log10(length))
        assert mantissa in (1.0, 2.0, 5.0)  # a round length
        assert sc.width / 12.5 <= length <= sc.width / 5  # 1-2-5 steps: within 2.5x
        (a, b) = r.to_image(np.array(sc.ground_segment(length)))
        west, east = r.to_image(np.array([[0.0, 0.0, 0.0], [sc.width, 0.0, 0.0]]))
        ratio = (b[0] - a[0]) / (east[0] - west[0])
        assert ratio == pytest.approx(length / sc.width, rel=0.01)
        tail, head = r.to_image(np.array(sc.north_arrow()))
        assert head[1] < tail[1] and abs(head[0] - tail[0]) < 1.0  # up, not sideways
    finally:
        r.close()


def test_overlay_is_drawn_where_it_says(synthetic):
    """The scale bar's ink runs its full pixel length at the place given; the legend box
    stays inside a frame narrower than its text would need at a fixed width."""
    from metrotwin.viz.overlay import INK, Overlay, draw

    blank = np.full((200, 300, 3), 200, "uint8")
    img = draw(blank, Overlay(scale=((20, 150), 100, "500 m")), font_px=12)
    row = img[150, :]
    ink = np.flatnonzero(np.all(row == INK, axis=-1))
    assert ink.min() <= 21 and ink.max() >= 119
    legend = [("a rather long land-cover class name", (10, 200, 30), "box")]
    img = draw(blank[:, :120], Overlay(legend=legend), font_px=12)
    assert img.shape == (200, 120, 3)
    assert patch_count(img, (10, 200, 30)) >= 10 * 10
