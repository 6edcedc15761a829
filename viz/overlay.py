"""What a 3D still needs to be read on its own, drawn on the rendered image: a scale bar, a
north arrow and the legend of the land-cover colours (and of closed roads).

The scale bar has the length, in the image, of a ground segment at the domain's south edge
(in an oblique view, perspective shortens what lies further north); the arrow points where
north is at the domain's centre. Both sit in the image's lower corners, above the colour bars.
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

    scale : (left end, length in pixels, label) of the scale bar, or None.
    north : (centre, unit vector to the north) of the north arrow, or None.
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
        (x0, y0), px, label = overlay.scale
        x1 = x0 + px
        tw = d.textlength(label, font=font)
        d.rounded_rectangle((x0 - pad, y0 - font_px - 3 * pad, max(x1, x0 + tw) + pad,
                             y0 + 2 * pad), radius=pad, fill=PANEL)  # fmt: skip
        d.line([(x0, y0), (x1, y0)], fill=INK, width=width)
        for x in (x0, x1):  # end ticks
            d.line([(x, y0 - pad), (x, y0 + pad)], fill=INK, width=width)
        d.text((x0, y0 - font_px - 2 * pad), label, fill=INK, font=font)
    if overlay.north is not None:
        (cx, cy), (ux, uy) = overlay.north  # centre of the arrow, unit vector to the north
        u = np.array([ux, uy], float)
        half = 1.2 * font_px
        tail, tip = np.array([cx, cy]) - u * half, np.array([cx, cy]) + u * half
        side = np.array([-u[1], u[0]]) * font_px * 0.4
        head = [tuple(tip), tuple(tip - u * font_px * 0.9 + side),
                tuple(tip - u * font_px * 0.9 - side)]  # fmt: skip
        lx, ly = tip + u * font_px * 0.8
        r = half + 1.6 * font_px
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=PANEL)
        d.line([tuple(tail), tuple(tip)], fill=INK, width=width)
        d.polygon(head, fill=INK)
        tw = d.textlength("N", font=font)
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
