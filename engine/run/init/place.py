"""Where the scenario lies: the grid's CRS (the elevation's when it is projected, else the UTM
zone of its centre), the extent (the DEM's, or ``--bbox``, snapped inwards to whole cells) and
how much each layer overlaps it."""

from __future__ import annotations

import math

from pyproj import CRS, Transformer

from metrotwin.city.sources.datasources import fmt_bounds
from metrotwin.run.init.inputs import InitError, Layer

#: a layer overlapping less of the domain than this is said in the log
PARTIAL_OVERLAP = 0.5


def grid_crs(dem: Layer) -> tuple[str, str | None]:
    """(the grid's CRS as 'EPSG:n' or WKT, a note when it was chosen for geographic input)."""
    crs = dem.crs
    if crs.is_projected:
        epsg = crs.to_epsg(min_confidence=70)
        return (f"EPSG:{epsg}" if epsg else crs.to_wkt()), None
    w, s, e, n = transform_bounds(dem.bounds, crs, CRS.from_epsg(4326))
    lon, lat = (w + e) / 2, (s + n) / 2
    zone = min(60, int((lon + 180) // 6) + 1)
    epsg = (32600 if lat >= 0 else 32700) + zone
    hemisphere = "N" if lat >= 0 else "S"
    note = (
        f"{dem.option} {dem.path} is geographic (longitude/latitude); the grid is in UTM zone "
        f"{zone}{hemisphere} (EPSG:{epsg}), the zone of its centre ({lon:.4f}, {lat:.4f}); every "
        f"layer is reprojected to it"
    )
    return f"EPSG:{epsg}", note


def transform_bounds(bounds, src: CRS, dst: CRS):
    """Bounds in ``dst`` of the box ``bounds`` in ``src`` (edges densified: 21 points each)."""
    if src.equals(dst):
        return tuple(bounds)
    w, s, e, n = bounds
    to_dst = Transformer.from_crs(src, dst, always_xy=True)
    return tuple(float(v) for v in to_dst.transform_bounds(w, s, e, n, densify_pts=21))


def parse_bbox(text: str, crs: str) -> tuple[float, float, float, float]:
    """``--bbox W,S,E,N`` in the grid CRS: numbers within ±180/±90 are longitude/latitude
    (WGS 84) and are transformed, others are metres of the grid CRS already."""
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise InitError(
            f"--bbox {text!r}: expected four numbers W,S,E,N (e.g. --bbox 14.39,50.10,14.40,50.11)"
        ) from None
    if not (w < e and s < n):
        raise InitError(f"--bbox {text!r}: needs west < east and south < north")
    if max(abs(w), abs(e)) <= 180 and max(abs(s), abs(n)) <= 90:
        return transform_bounds((w, s, e, n), CRS.from_epsg(4326), CRS.from_user_input(crs))
    return w, s, e, n


def snap_extent(bounds, resolution: float, what: str) -> tuple[float, float, float, float]:
    """``bounds`` shrunk to whole cells of ``resolution`` (edges on multiples of it)."""
    w, s, e, n = bounds
    r = resolution
    w, s = math.ceil(w / r - 1e-9) * r, math.ceil(s / r - 1e-9) * r
    e, n = math.floor(e / r + 1e-9) * r, math.floor(n / r + 1e-9) * r
    if e <= w or n <= s:
        raise InitError(
            f"{what} {fmt_bounds(bounds)} is smaller than one {resolution:g} m cell; choose a "
            f"finer --resolution or a larger area"
        )
    return _tidy(w), _tidy(s), _tidy(e), _tidy(n)


def _tidy(value: float) -> float:
    return float(round(value, 6))


def overlap(a, b) -> float:
    """Share of box ``a``'s area that lies in box ``b`` (0-1)."""
    w, s = max(a[0], b[0]), max(a[1], b[1])
    e, n = min(a[2], b[2]), min(a[3], b[3])
    area = (a[2] - a[0]) * (a[3] - a[1])
    if e <= w or n <= s or area <= 0:
        return 0.0
    return (e - w) * (n - s) / area


def check_overlaps(domain, layers: list[Layer], crs: str) -> list[str]:
    """Log lines saying how much of the domain each layer covers; InitError naming every
    layer's bounds when one does not overlap the domain at all."""
    dst = CRS.from_user_input(crs)
    lines, missing = [], []
    for layer in layers:
        if layer.bounds is None:
            continue
        box = transform_bounds(layer.bounds, layer.crs, dst)
        share = overlap(domain, box)
        if share == 0.0:
            missing.append(f"{layer.option} {layer.path} spans {fmt_bounds(box)} in the same CRS")
        elif share < PARTIAL_OVERLAP:
            lines.append(f"{layer.option} {layer.path} covers only {share:.0%} of the domain")
    if missing:
        raise InitError(
            "the inputs do not overlap: the domain is " + fmt_bounds(domain) + f" in {crs} "
            "(overlap 0%), but " + "; ".join(missing) + "; check each file's CRS "
            "and that they show the same place"
        )
    return lines
