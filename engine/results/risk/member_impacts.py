"""The impacts of one member on the city: flood damage per building and district, people and
buildings exposed, critical facilities cut off, heat deaths and hours of heat stress.

``CityExposure`` is what does not change between members (the buildings, their residents,
districts, damage tables, the road network and where the facilities join it), built once
from a member's static layers; ``member_impacts`` applies one member's fields to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from metrotwin.results.risk.buildings import PUBLIC, Buildings, building_table, depth_at_buildings
from metrotwin.results.risk.damage_tables import DamageModel, damage_model
from metrotwin.results.risk.districts import district_names, per_district
from metrotwin.results.risk.facilities import facilities_cut_off, nearest_nodes
from metrotwin.results.risk.member_fields import VERY_STRONG_HEAT_STRESS, MemberFields
from metrotwin.results.risk.population import heat_deaths, hours_per_resident, residents


@dataclass(frozen=True)
class CityExposure:
    """The exposed city (see the module docstring); ``network`` is (nodes, link_from,
    link_to) or None without one, ``facility_nodes`` the node of each public building."""

    buildings: Buildings
    people: np.ndarray
    districts: dict[int, str]
    damage: DamageModel
    network: tuple[int, np.ndarray, np.ndarray] | None
    facility_nodes: np.ndarray | None

    @property
    def codes(self) -> np.ndarray:
        return np.array(list(self.districts), dtype=np.int64)


def city_exposure(ds: xr.Dataset, settings) -> CityExposure:
    """The exposed city of a member's fields ``ds``, with the ``hazards.impacts`` settings."""
    buildings = building_table(ds, settings.storey_height)
    model = damage_model(buildings.uses.tolist(), settings.country, settings.damage_curves,
                         settings.max_damage)  # fmt: skip
    network = facility_nodes = None
    if all(n in ds.variables for n in ("node_x", "node_y", "link_from", "link_to")):
        node_xy = np.stack([ds["node_x"].values, ds["node_y"].values], axis=1)
        network = (node_xy.shape[0], np.asarray(ds["link_from"].values, np.int64),
                   np.asarray(ds["link_to"].values, np.int64))  # fmt: skip
        public = buildings.use_code == PUBLIC
        facility_nodes = nearest_nodes(node_xy, buildings.centroid_xy[public])
    return CityExposure(buildings=buildings,
                        people=residents(buildings, settings.floor_area_per_resident),
                        districts=district_names(ds), damage=model, network=network,
                        facility_nodes=facility_nodes)  # fmt: skip


@dataclass(frozen=True)
class MemberImpacts:
    """One member's impacts; None where its run lacks the fields they need."""

    damage_by_building: np.ndarray | None
    exposed_buildings: np.ndarray | None
    exposed_people: np.ndarray | None
    cut_off: np.ndarray | None
    heat_deaths: np.ndarray | None
    very_strong_heat_hours_per_resident: float | None
    very_strong_heat_hours_by_group: dict[str, float] | None


def _flood(city: CityExposure, fields: MemberFields, settings):
    if fields.peak_depth is None:
        return None, None
    b = city.buildings
    depth = depth_at_buildings(b, fields.peak_depth, settings.depth_at)
    damage = city.damage.damage(depth, b.uses, b.footprint_m2, b.storeys,
                                settings.storeys_counted)  # fmt: skip
    return damage, depth > settings.exposure_depth


def _heat(city: CityExposure, fields: MemberFields, heatwave_days, health):
    """Deaths per building (a heatwave of ``heatwave_days`` days; None without one)."""
    if heatwave_days is None or fields.daily_max_apparent_temperature is None:
        return None
    return heat_deaths(city.buildings, city.people, fields.daily_max_apparent_temperature,
                       heatwave_days, health)  # fmt: skip


def member_impacts(city: CityExposure, fields: MemberFields, settings, heatwave_days,
                   health: dict) -> MemberImpacts:  # fmt: skip
    """The impacts of the member whose reduced outputs are ``fields``."""
    damage, exposed = _flood(city, fields, settings)
    cut = None
    if city.network is not None and fields.closed_at_peak is not None:
        cut = facilities_cut_off(city.facility_nodes, *city.network, fields.closed_at_peak)
    hours = fields.utci_hours.get(VERY_STRONG_HEAT_STRESS)
    per_resident = None if hours is None else hours_per_resident(
        city.buildings, city.people, hours)  # fmt: skip
    by_group = None
    if fields.heat_minutes_by_group:
        by_group = {g: m / 60.0 for g, m in fields.heat_minutes_by_group.items()}
    return MemberImpacts(
        damage_by_building=damage,
        exposed_buildings=exposed,
        exposed_people=None if exposed is None else np.where(exposed, city.people, 0.0),
        cut_off=cut,
        heat_deaths=_heat(city, fields, heatwave_days, health),
        very_strong_heat_hours_per_resident=per_resident,
        very_strong_heat_hours_by_group=by_group,
    )


def district_sums(city: CityExposure, per_building) -> np.ndarray:
    """Sum of a per-building value over each district (in ``city.districts`` order)."""
    return per_district(per_building, city.buildings.district, city.codes)
