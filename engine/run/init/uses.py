"""What each building is used for, which the mobility model's synthetic population needs
(homes: residential; jobs: commercial, industrial, public): from a use-like column of the
footprints (OSM ``building`` / ``amenity`` values and the like), else an assumption stated in
the scenario: the largest footprints (by area) are the workplaces."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from metrotwin.run.init.inputs import Layer, vector_columns

USE_COLUMNS = ("building_use", "use", "usage", "building", "amenity", "landuse", "type")
#: words in a use value -> metrotwin's building use
USE_WORDS = {
    "residential": ("residential", "house", "apartments", "detached", "terrace", "dormitory",
                    "bungalow", "semidetached_house", "housing", "dwelling"),
    "commercial": ("commercial", "retail", "office", "shop", "hotel", "supermarket", "mall"),
    "industrial": ("industrial", "warehouse", "factory", "manufacture", "depot"),
    "public": ("public", "school", "university", "college", "hospital", "civic", "government",
               "church", "kindergarten", "library", "train_station", "townhall"),
}  # fmt: skip
ID_COLUMNS = ("uID", "id", "osm_id", "fid", "gid", "objectid", "building_id")
#: share of the footprints (the largest) taken as workplaces when nothing says
WORKPLACE_SHARE = 0.2
#: most footprints named one by one in a use mapping (the scenario stays readable)
MAX_LISTED = 5000


@dataclass
class Uses:
    """How the scenario gives each footprint a use; ``None`` attribute: all residential."""

    attribute: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    note: str = ""

    @property
    def has_jobs(self) -> bool:
        """Whether any footprint is a workplace (unmapped ones are homes: default_use)."""
        return any(use != "residential" for use in self.mapping.values())


def _use_of(value) -> str | None:
    text = str(value).strip().lower()
    return next((use for use, words in USE_WORDS.items() if text in words), None)


def building_uses(layer: Layer) -> Uses:
    """A use-like column mapped to uses, else the largest footprints as workplaces (by an id
    column), else all residential (no workplaces: no mobility)."""
    columns, count = vector_columns(layer.path)
    for name in USE_COLUMNS:
        column = next((c for c in columns if c.lower() == name.lower()), None)
        if column is None:
            continue
        mapping = {str(v): _use_of(v) for v in set(columns[column]) if _use_of(v)}
        if len(set(mapping.values())) >= 2 and len(mapping) <= MAX_LISTED:
            return Uses(column, mapping, f"building use from {column!r} ({len(mapping)} values)")
    return _largest_as_workplaces(layer, columns, count)


def _largest_as_workplaces(layer: Layer, columns: dict[str, list], count: int) -> Uses:
    import geopandas as gpd  # the footprints' areas, only when no column gives a use

    id_col = next((c for c in columns if c.lower() in {n.lower() for n in ID_COLUMNS}
                   and len(set(columns[c])) == count), None)  # fmt: skip
    n_work = int(np.ceil(WORKPLACE_SHARE * count))
    if id_col is None or n_work > MAX_LISTED or count < 2:
        return Uses(note="no building use column and no unique id column: every footprint is "
                         "residential (no workplaces)")  # fmt: skip
    gdf = gpd.read_file(layer.path)
    if gdf.crs is not None and gdf.crs.is_geographic:  # areas in m2, not square degrees
        gdf = gdf.to_crs(gdf.estimate_utm_crs())
    area = gdf.area.to_numpy()
    largest = np.argsort(-area, kind="stable")[:n_work]
    mapping = {str(gdf[id_col].iloc[i]): "commercial" for i in sorted(largest)}
    note = (f"no building use column (looked for {', '.join(USE_COLUMNS)}): ASSUMED the "
            f"{n_work} largest of {count} footprints ({WORKPLACE_SHARE:.0%}) are workplaces "
            f"(commercial), the rest homes; listed by {id_col!r}")
    return Uses(id_col, mapping, note)
