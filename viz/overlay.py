"""What a 3D still needs to be read on its own, drawn on the rendered image: a scale bar, a
north arrow and the legend of the land-cover colours (and of closed roads).

The scale bar and the arrow are segments on the ground projected to the image, so in an
oblique view they are true where they stand (perspective shortens what lies further away).
The legend is sized to its text, inside the image, whatever the frame size (an animation's
800 x 600 frames cut VTK's own legend).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

INK = (34, 34, 34)
PANEL = (255, 255, 255, 215)


@dataclass
class Overlay:
    """Image coordinates (pixels, origin top left) of what is drawn over a still.

    scale : (start, end, label) of the scale bar, or None.
    north : (tail, head) of the north arrow, or None.
    legend : (label, RGB, "box" or "line") entries, top right.
    top : pixels left free at the top (the title).
    """

    scale: tuple | None = None
    north: tuple | None = None
    legend: list[tuple[str, tuple, str]] = field(default_factory=list)
    top: int = 0


@lru_cache(maxsize=8)
def _font(size: int):
    from matplotlib import font_manager
    from PIL import ImageFont

    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)


def draw(img: np.ndarray, overlay: Overlay, *, font_px: int) -> np.ndarray:
    """``img`` (H, W, 3) uint8 with the overlay drawn on it (a new array)."""
    from PIL import Image, ImageDraw

    pic = Image.fromarray(np.ascontiguousarray(img)).convert("RGBA")
    layer = Image.new("RGBA", pic.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    font = _font(max(8, int(font_px)))
    pad = max(3, font_px // 3)
    width = max(2, font_px // 5)
    if overlay.scale is not None:
        (x0, y0), (x1, y1), label = overlay.scale
        tw = d.textlength(label, font=font)
        box = (min(x0, x1) - pad, min(y0, y1) - font_px - 3 * pad,
               max(x1, x0 + tw) + pad, max(y0, y1) + 2 * pad)  # fmt: skip
        d.rounded_rectangle(box, radius=pad, fill=PANEL)
        d.line([(x0, y0), (x1, y1)], fill=INK, width=width)
        for x, y in ((x0, y0), (x1, y1)):  # end ticks
            d.line([(x, y - pad), (x, y + pad)], fill=INK, width=width)
        d.text((x0, min(y0, y1) - font_px - 2 * pad), label, fill=INK, font=font)
    if overlay.north is not None:
        (x0, y0), (x1, y1) = overlay.north
        v = np.array([x1 - x0, y1 - y0], float)
        n = float(np.hypot(*v)) or 1.0
        v = v / n * max(n, 3 * font_px)  # at least readable when seen edge-on
        x1, y1 = x0 + v[0], y0 + v[1]
        u = v / np.hypot(*v)
        side = np.array([-u[1], u[0]]) * font_px * 0.4
        tip = np.array([x1, y1])
        head = [tuple(tip), tuple(tip - u * font_px * 0.9 + side), tuple(tip - u * font_px * 0.9 - side)]
        lx, ly = tip + u * font_px * 0.9
        tw = d.textlength("N", font=font)
        xs = [x0, x1, lx - tw / 2, lx + tw / 2]
        ys = [y0, y1, ly - font_px / 2, ly + font_px / 2]
        d.rounded_rectangle((min(xs) - 2 * pad, min(ys) - pad, max(xs) + 2 * pad, max(ys) + pad),
                            radius=pad, fill=PANEL)  # fmt: skip
        d.line([(x0, y0), (x1, y1)], fill=INK, width=width)
        d.polygon(head, fill=INK)
        d.text((lx - tw / 2, ly - font_px * 0.6), "N", fill=INK, font=font)
    if overlay.legend:
        sw = font_px  # swatch size
        rows = [d.textlength(label, font=font) for label, _, _ in overlay.legend]
        w = sw + 3 * pad + max(rows)
        h = len(rows) * (font_px + pad) + pad
        x1 = pic.size[0] - pad
        x0 = max(0, x1 - w)
        y0 = overlay.top + pad
        d.rounded_rectangle((x0, y0, x1, y0 + h), radius=pad, fill=PANEL)
        for i, (label, rgb, kind) in enumerate(overlay.legend):
            y = y0 + pad + i * (font_px + pad)
            if kind == "line":
                d.line([(x0 + pad, y + sw / 2), (x0 + pad + sw, y + sw / 2)], fill=tuple(rgb),
                       width=max(3, sw // 4))  # fmt: skip
            else:
                d.rectangle((x0 + pad, y, x0 + pad + sw, y + sw), fill=tuple(rgb), outline=INK)
            d.text((x0 + 2 * pad + sw, y - font_px * 0.1), label, fill=INK, font=font)
    return np.asarray(Image.alpha_composite(pic, layer).convert("RGB"))
