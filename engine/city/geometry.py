"""Where an intervention acts: areas (districts, polygons, boxes) and lines, as grid masks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from metrotwin.city import landcover

if TYPE_CHECKING:
    from metrotwin.city.state import CityState


class Area(BaseModel):
    """A selection of cells: the whole domain unless narrowed by any of the fields (all that
    are given must hold)."""

    model_config = ConfigDict(extra="forbid")

    district: list[str] | None = Field(None, description="district / municipality names")
    polygon: list[tuple[float, float]] | None = Field(None, description="[[x, y], ...] in the grid CRS (m)")
    bbox: tuple[float, float, float, float] | None = Field(None, description="west, south, east, north (m)")
    land_cover: list[str] | None = Field(None, description="only cells of these classes")

    @field_validator("district", "land_cover", mode="before")
    @classmethod
    def _listify(cls, value):
        return [value] if isinstance(value, str) else value

    @field_validator("land_cover")
    @classmethod
    def _classes(cls, value):
        for name in value or []:
            landcover.code_of(name)
        return value

    @field_validator("polygon")
    @classmethod
    def _polygon(cls, value):
        if value is not None and len(value) < 3:
            raise ValueError(f"a polygon needs at least 3 vertices, got {len(value)}")
        return value

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, value):
        if value is not None and not (value[0] < value[2] and value[1] < value[3]):
            raise ValueError(f"bbox {list(value)} must be [west, south, east, north]")
        return value

    def mask(self, state: CityState) -> np.ndarray:
        grid = state.grid
        xx, yy = np.meshgrid(grid.x, grid.y)
        selected = np.ones(grid.shape, dtype=bool)
        if self.district is not None:
            by_name = {name: code for code, name in state.district_names.items()}
            unknown = [d for d in self.district if d not in by_name]
            if unknown:
                raise ValueError(
                    f"unknown district(s) {', '.join(unknown)}; the city has: {', '.join(by_name)}"
                )
            selected &= np.isin(state["district"], [by_name[d] for d in self.district])
        if self.polygon is not None:
            selected &= shapely.contains_xy(shapely.Polygon(self.polygon), xx, yy)
        if self.bbox is not None:
            w, s, e, n = self.bbox
            selected &= (xx >= w) & (xx <= e) & (yy >= s) & (yy <= n)
        if self.land_cover is not None:
            selected &= np.isin(state["land_cover"], [landcover.code_of(c) for c in self.land_cover])
        return selected


class Line(BaseModel):
    """A polyline with a width: the cells within ``width``/2 of it (at least the cells it
    crosses)."""

    model_config = ConfigDict(extra="forbid")

    line: list[tuple[float, float]] = Field(description="[[x, y], ...] in the grid CRS (m)")
    width: float = Field(0.0, ge=0, description="width (m); 0 = one cell")

    @model_validator(mode="after")
    def _two_points(self):
        if len(self.line) < 2:
            raise ValueError(f"a line needs at least 2 points, got {len(self.line)}")
        return self

    def mask(self, state: CityState) -> np.ndarray:
        grid = state.grid
        xx, yy = np.meshgrid(grid.x, grid.y)
        reach = max(self.width / 2, grid.resolution / np.sqrt(2))
        geom = shapely.LineString(self.line).buffer(reach, cap_style="square")
        return shapely.contains_xy(geom, xx, yy)
