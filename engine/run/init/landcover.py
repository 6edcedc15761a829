"""How a land-cover file's values map onto metrotwin's classes: a raster's codes matched
against the presets (UMEP, ESA WorldCover), a polygon file's column of class names."""

from __future__ import annotations

import numpy as np

from metrotwin.run.init.inputs import InitError, Layer, vector_columns
from metrotwin.scenario.data import LAND_COVER_PRESETS, lookup_key
from metrotwin.scenario.landcover import NAMES

#: cells read (at most, per side) to learn a raster's codes
SAMPLE_SIDE = 1024


def land_cover_mapping(layer: Layer) -> tuple[str | dict[str, str], str | None]:
    """(the mapping: a preset name, or {class: class} for a column of class names; that
    column, or None for a raster)."""
    if layer.raster:
        return _raster_preset(layer), None
    columns, _ = vector_columns(layer.path)
    for column, values in columns.items():
        if values and all(str(v) in NAMES for v in values if v is not None):
            classes = sorted({str(v) for v in values if v is not None})
            return {name: name for name in classes}, column
    raise InitError(
        f"{layer.option} {layer.path}: no column holds metrotwin land-cover classes "
        f"({', '.join(NAMES)}); columns: {', '.join(columns) or 'none'}; write the classes into "
        f"a column, or give a raster with UMEP or ESA WorldCover codes"
    )


def _raster_preset(layer: Layer) -> str:
    import rasterio  # only when a land-cover raster is given

    with rasterio.open(layer.path) as src:
        shape = (min(src.height, SAMPLE_SIDE), min(src.width, SAMPLE_SIDE))
        values = src.read(1, out_shape=shape, masked=True)
    codes = {lookup_key(v) for v in np.unique(values.compressed())}
    for preset, table in LAND_COVER_PRESETS.items():
        if codes <= set(table):
            return preset
    raise InitError(
        f"{layer.option} {layer.path}: its codes {sorted(codes)[:12]} match no preset "
        f"({', '.join(f'{p}: {sorted(t)}' for p, t in LAND_COVER_PRESETS.items())}); recode it, "
        f"or write domain.data.land_cover.mapping by hand"
    )
