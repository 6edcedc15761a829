"""The heat model: shadows and sky view from the city's 3D form, a surface energy balance per
cell, near-surface air temperature that responds to the surfaces and to traffic, and the
mean radiant temperature and UTCI a pedestrian feels.

>>> import numpy as np
>>> from metrotwin.run.testing import make_grid, make_state, make_context
>>> from metrotwin.models.heat import HeatModel
>>> grid = make_grid(12, 12, resolution=5.0)
>>> height = np.zeros(grid.shape); height[4:8, 4:8] = 15.0
>>> state = make_state(grid, building_height=height)
>>> ctx = make_context(grid, duration=600.0, coupling_interval=300.0,
...                    start="2026-07-01T12:00:00", forcing={"weather": {"design_day": {}}})
>>> model = HeatModel()
>>> for name, spec in model.variables.items():
...     _ = state.add_variable(name, spec) if spec.writes else None
>>> model.initialize(state, ctx)
>>> model.advance(state, 300.0)
>>> bool(25 < np.nanmax(state["universal_thermal_comfort_index"]) < 50)
True
"""

from __future__ import annotations

import math
from typing import ClassVar, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from metrotwin.errors import ModelError
from metrotwin.results.indicators import Indicator
from metrotwin.city.landcover import CODE
from metrotwin.run.model import Model
from metrotwin.models.heat.kernels import air, comfort, energy, radiation
from metrotwin.models.heat.geometry import Geometry, build_geometry
from metrotwin.models.heat.surface import check_overrides, surface_arrays
from metrotwin.physics import (AIR_VOLUMETRIC_HEAT_CAPACITY, KELVIN_OFFSET, SOLAR_CONSTANT,
                               STEFAN_BOLTZMANN, dew_point, saturation_vapour_pressure,
                               specific_humidity)
from metrotwin.scenario.schema import StrictModel
from metrotwin.city.variables import VarSpec

OMEGA = 2.0 * math.pi / 86400.0  # daily angular frequency (s-1)
STRONG, VERY_STRONG = 32.0, 38.0  # UTCI heat-stress thresholds (degC), Broede et al. 2012


class Radiation(NamedTuple):
    """The radiation of one time step: the sky and what walls and crowns send (kernels'
    ``Sky`` and ``Surroundings``)."""

    sky: tuple
    surroundings: tuple


class HeatError(ModelError):
    """The heat model cannot run on this city or weather (names the layer and the value)."""


class Params(StrictModel):
    """Parameters of the heat model (physics defaults; units in parentheses)."""

    model_config = ConfigDict(extra="forbid")

    time_step: float = Field(300.0, ge=1, le=3600, description="energy-balance step (s)")
    azimuths: int = Field(32, ge=8, le=360, description="horizon directions for the sky view")
    horizon_distance: float = Field(
        500.0, gt=0, description="horizons are searched at least this far, at most twice (m): "
        "a 50 m tower 500 m away rises 5.7 degrees; a decomposed run fetches twice this around "
        "each tile")
    leaf_transmissivity: float = Field(
        0.03, ge=0, le=1, description="share of sun through a crown (SOLWEIG default)"
    )
    air_cell_size: float = Field(100.0, gt=0, description="air-temperature grid spacing (m)")
    air_layer_depth: float = Field(50.0, gt=0, le=2000, description="depth of the mixed air (m)")
    exchange_coefficient: float = Field(
        0.01, ge=0, le=0.1, description="bulk coefficient of exchange with the air above (1)"
    )
    min_exchange_velocity: float = Field(0.005, ge=0, description="free-convection floor (m/s)")
    horizontal_diffusivity: float = Field(20.0, ge=0, description="eddy diffusivity (m2/s)")
    street_wind_factor: float = Field(
        0.5, gt=0, le=1, description="wind near surfaces / wind at 10 m (for heat transfer)"
    )
    ground_view_radius: float = Field(
        3.0, ge=0, le=50, description="radius of the ground a person's K_up/L_up come from (m): "
        "a disc of 3 m gives 0.88 of the view at 1.1 m height")
    wall_albedo: float = Field(0.20, ge=0, le=1, description="SOLWEIG default (Lindberg 2008)")
    wall_emissivity: float = Field(0.90, ge=0.5, le=1, description="SOLWEIG default")
    wall_admittance: float = Field(1500.0, gt=0, description="brick/concrete (J m-2 s-1/2 K-1)")
    absorption_shortwave: float = Field(0.70, ge=0, le=1, description="of a person (SOLWEIG)")
    absorption_longwave: float = Field(0.97, ge=0, le=1, description="of a person (SOLWEIG)")
    surface: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="overrides of surface_parameters.yaml by class"
    )

    @field_validator("surface")
    @classmethod
    def _surface(cls, value):
        return check_overrides(value)


#: temperatures a published run may hold (K): -100 to +150 degC, beyond any air, ground or
#: radiant temperature of a city; and the UTCI of those (degC)
TEMPERATURE_RANGE = (173.15, 423.15)
UTCI_RANGE = (-100.0, 150.0)


def _grid(units, doc, standard_name=None, output=True, fill=0.0, internal=False,
          valid_range=None):
    return VarSpec("out", units, doc, standard_name=standard_name, output=output, fill=fill,
                   internal=internal, valid_range=valid_range)


class HeatModel(Model):
    """Urban heat: radiation in 3D, surface energy balance, air temperature, Tmrt and UTCI.

    References
    ----------
    Lindberg, Holmer & Thorsson (2008) Int J Biometeorol 52:697-713,
    doi:10.1007/s00484-008-0162-7 (SOLWEIG: shadows, SVF, six-direction Tmrt).
    Deardorff (1978) JGR 83:1889-1903, doi:10.1029/JC083iC04p01889 (force-restore).
    Broede et al. (2012) Int J Biometeorol 56:481-494, doi:10.1007/s00484-011-0454-1 (UTCI).
    Hay & Davies (1980) Proc. First Canadian Solar Radiation Data Workshop, 59-72 (the
    circumsolar share of the diffuse, I / I0, follows the sun; Duffie & Beckman 2013, Solar
    Engineering of Thermal Processes, 4th ed., sect. 2.16): the anisotropic diffuse that
    SOLWEIG models with the Perez sky (Wallenberg et al. 2020, Urban Clim 31:100589,
    doi:10.1016/j.uclim.2020.100589) reduced to its circumsolar and isotropic parts.

    On a grid split over ranks every number is the serial one: horizons are searched over
    fixed global segments (``horizon_distance``), so a rank fetches the surface model two
    segments around its tile and sweeps only that; tiles are cut in whole air cells, whose
    grid exchanges a halo of two air cells every sub-step; totals are exact sums over the
    owned cells, and per-cell time integrals live in the state (checkpointed by tile).
    """

    name: ClassVar[str] = "heat"
    halo: ClassVar[int] = 0  # see tiling(): the ground a person sees; horizons fetch their own
    # README "Capacity": ~0.35 KiB per cell. Time: the demo (18,000 cells, 72 steps) takes 17 s
    # of heat, mostly the horizons computed once: ~1e-5 s per cell-step at 5 min steps
    memory_per_cell_bytes: ClassVar[float] = 0.35 * 1024
    seconds_per_cell_step: ClassVar[float] = 1e-5
    time_step_fields: ClassVar[tuple[str, ...]] = ("time_step",)
    Params: ClassVar[type[BaseModel]] = Params
    variables: ClassVar[dict[str, VarSpec]] = {
        "surface_altitude": VarSpec("in", "m", "ground elevation", standard_name="surface_altitude"),
        "building_height": VarSpec("in", "m", "height of the building above ground"),
        "tree_canopy_height": VarSpec("in", "m", "height of the tree canopy above ground"),
        "land_cover": VarSpec("in", "1", "land-cover class", dtype="int16"),
        "district": VarSpec("in", "1", "district code", dtype="int16"),
        "traffic_heat_flux": VarSpec("in", "W m-2", "heat released by traffic", optional=True),
        "universal_thermal_comfort_index": _grid(
            "degree_C", "universal thermal climate index of a pedestrian (NaN on buildings)",
            "universal_thermal_comfort_index", fill=np.nan, valid_range=UTCI_RANGE),
        "mean_radiant_temperature": _grid(
            "K", "mean radiant temperature of a standing person", fill=np.nan,
            valid_range=TEMPERATURE_RANGE),
        "air_temperature": _grid("K", "near-surface air temperature", "air_temperature", fill=np.nan,
                                 valid_range=TEMPERATURE_RANGE),
        "surface_temperature": _grid("K", "surface (ground or roof) temperature",
                                     "surface_temperature", fill=np.nan,
                                     valid_range=TEMPERATURE_RANGE),
        "utci_daily_max": _grid("degree_C", "maximum UTCI since the start",
                                fill=np.nan),
        "mean_radiant_temperature_daily_max": _grid(
            "K", "maximum mean radiant temperature since the start", fill=np.nan),
        "utci_hours_above_32_day": _grid("h", "daytime hours with UTCI above 32 degC (strong heat stress)"),
        "utci_hours_above_32_night": _grid("h", "night hours with UTCI above 32 degC"),
        "utci_hours_above_38_day": _grid("h", "daytime hours with UTCI above 38 degC (very strong heat stress)"),
        "utci_hours_above_38_night": _grid("h", "night hours with UTCI above 38 degC"),
        "sky_view_factor": _grid("1", "sky view factor (buildings and tree crowns)", output=False),
        # per-cell state kept in the state so that checkpoints do not depend on the ranks
        "heat_utci_time_integral": _grid("degree_C s", "time integral of UTCI", output=False,
                                         internal=True),
        "heat_night_air_time_integral": _grid("K s", "time integral of night air temperature",
                                              output=False, internal=True),
        "heat_air_anomaly": _grid("K", "air-temperature anomaly of the coarse air cell the cell "
                                  "lies in", output=False, internal=True),
    }

    @classmethod
    def tiling(cls, params, resolution: float) -> tuple[int, int]:
        """The ground a person sees (``ground_view_radius``) as halo; tiles made of whole
        air cells, so that the air grid splits along the same edges."""
        return (int(round(params.ground_view_radius / resolution)),
                max(1, int(round(params.air_cell_size / resolution))))

    # -- set-up -------------------------------------------------------------------------------
    def initialize(self, state, ctx) -> None:
        p = self.params
        self.ctx = ctx
        weather = ctx.forcing.weather
        if weather is None:
            raise HeatError(
                "the heat model needs forcing.weather (a design_day or an EPW/CSV file)"
            )
        self.weather = weather
        grid = state.grid
        ground = np.asarray(state["surface_altitude"], dtype=float)
        height = np.asarray(state["building_height"], dtype=float)
        canopy = np.asarray(state["tree_canopy_height"], dtype=float)
        for name, arr in (("surface_altitude", ground), ("building_height", height),
                          ("tree_canopy_height", canopy)):
            if not np.isfinite(arr).all():
                raise HeatError(f"{name} has {int((~np.isfinite(arr)).sum())} missing (NaN) cells")
        if (height < 0).any() or (canopy < 0).any():
            name = "building_height" if (height < 0).any() else "tree_canopy_height"
            raise HeatError(
                f"{name} is negative in {int((state[name] < 0).sum())} cells (min "
                f"{float(state[name].min()):.2f} m): the surface model lies below the ground "
                f"model (DSM lower than DEM); heights above ground must be >= 0"
            )
        try:
            surf = surface_arrays(np.asarray(state["land_cover"]), p.surface)
        except ValueError as err:
            raise HeatError(str(err)) from None
        dec = ctx.decomposition
        segment = int(math.ceil(p.horizon_distance / grid.resolution - 1e-9))
        window, crop = _horizon_window(dec, 2 * segment)
        ground_w, height_w, canopy_w = (
            dec.fetch_window(np.ascontiguousarray(a[dec.owned]), window) for a in (ground, height, canopy))
        self.geometry: Geometry = build_geometry(
            ground_w, height_w, canopy_w, resolution=grid.resolution, n_azimuth=p.azimuths,
            transmissivity=p.leaf_transmissivity, row0=window[0].start, col0=window[1].start,
            segment=segment, crop=crop,
        )
        n = grid.size
        self.albedo = surf["albedo"].ravel()
        self.emissivity = surf["emissivity"].ravel()
        self.heat_capacity = (surf["thermal_admittance"] / math.sqrt(2.0 * OMEGA)).ravel()
        self.evaporation = surf["evaporation_efficiency"].ravel()
        self.anthropogenic = surf["anthropogenic_heat"].ravel()
        self.svf = self.geometry.svf.ravel()
        self.svf_side = self.geometry.svf_side.reshape(4, n)
        self.svf_building = self.geometry.svf_buildings.ravel()
        self.side_building = self.geometry.svf_side_buildings.reshape(4, n)
        self._leaf_emissivity = float(surface_arrays(np.array([CODE["trees"]]), p.surface)
                                      ["emissivity"][0])
        state["sky_view_factor"][...] = self.geometry.svf
        self.building = height > 0
        self.outdoor = (~self.building) & (np.asarray(state["land_cover"]) != CODE["water"])
        self.owned = np.zeros(grid.shape, bool)
        self.owned[dec.owned] = True
        self.counted = self.outdoor & self.owned  # cells this rank adds to totals
        self._counted_flat = np.ascontiguousarray(self.counted.ravel())
        self.owned_slices = dec.owned
        self.n_counted = ctx.global_sum(float(self.counted.sum()))
        self._district = np.asarray(state["district"])
        self.district_names = state.district_names
        # the group of each counted cell for the indicators' one-pass reductions: its
        # district's index, or one more for counted cells outside every district; -1: not
        # counted
        self._groups = np.full(grid.shape, len(self.district_names), np.int64)
        for i, code in enumerate(self.district_names):
            self._groups[self._district == code] = i
        self._groups[~self.counted] = -1
        self.state = state
        # air grid: whole air cells per tile, halo of two (the bilinear map reaches one further)
        self.factor = max(1, int(round(p.air_cell_size / grid.resolution)))
        try:
            self.air_dec = dec.coarsened(self.factor, halo=2 + -(-dec.halo // self.factor))
        except ValueError as err:
            raise HeatError(
                f"heat.air_cell_size {p.air_cell_size:g} m is {self.factor} cells, but the tiles "
                f"of this run are cut for another air grid ({err}); give every variant the same "
                f"air_cell_size") from None
        self.theta = np.zeros(self.air_dec.local_shape)
        self._heat_c = np.zeros(self.air_dec.local_shape)
        self._theta_fine = np.zeros(grid.shape)
        fine_w, coarse_w = dec.local_window, self.air_dec.local_window
        self._air_cell_of = np.ix_(  # local coarse cell of each local fine cell
            (np.arange(fine_w[0].start, fine_w[0].stop) // self.factor) - coarse_w[0].start,
            (np.arange(fine_w[1].start, fine_w[1].stop) // self.factor) - coarse_w[1].start)
        # prognostic surface temperatures, started at the air temperature
        w = weather.at(0.0)
        self.t_deep = weather.mean_air_temperature
        self.t_surface = np.full(n, w.air_temperature)
        self.t_wall = np.full(4, w.air_temperature)
        self.t_reference = np.full(1, w.air_temperature)
        self.time = 0.0
        self._grass = surface_arrays(np.array([CODE["grass"]]))
        self._buf = {k: np.empty(n) for k in ("sun", "kd", "ld", "qh", "qe", "qg", "tmrt", "utci",
                                               "ta", "kup", "lup")}
        self._view_cells = int(round(p.ground_view_radius / grid.resolution))
        self._ground = np.ascontiguousarray(~self.building)
        self._pedestrian = self._ground.ravel()  # UTCI is evaluated off the buildings only
        # statistics
        self.utci_time = 0.0
        self.night_time = 0.0
        self.tmrt_noon = float("nan")
        self._noon_gap = float("inf")
        self._diagnose(_Views(state), w)

    # -- time stepping --------------------------------------------------------------------------
    def max_time_step(self, state) -> float:
        return self.params.time_step

    def advance(self, state, until: float) -> None:
        state = _Views(state)
        while self.time < until - 1e-9:
            dt = min(self.params.time_step, until - self.time)
            self._step(state, dt)
        state["heat_air_anomaly"][...] = self.theta[self._air_cell_of]

    def _step(self, state, dt: float) -> None:
        p = self.params
        t1 = self.time + dt
        w = self.weather.at(t1)
        rad = self._radiation(w, dt)
        ta = self._buf["ta"]
        ta[:] = state["air_temperature"].ravel()
        q_air = _specific_humidity(w)
        h_conv = 5.7 + 3.8 * p.street_wind_factor * w.wind_speed  # Juerges, W m-2 K-1
        hc = self._scratch("hc")
        hc.fill(h_conv)
        k_abs = np.multiply(self._scratch("absorptivity", 1.0 - self.albedo), self._buf["kd"],
                            out=self._scratch("k_abs"))
        l_abs = np.multiply(self.emissivity, self._buf["ld"], out=self._scratch("l_abs"))
        t_deep = self._scratch("t_deep")
        t_deep.fill(self.t_deep)
        energy.surface_temperature_step(
            self.t_surface, k_abs, l_abs, ta, self.heat_capacity, self.emissivity,
            self.evaporation, self.anthropogenic, t_deep, hc, q_air=q_air,
            pressure=w.air_pressure, dt=dt, omega=OMEGA, theta=0.5,
            out_qh=self._buf["qh"], out_qe=self._buf["qe"], out_qg=self._buf["qg"],
        )
        qh_ref = self._reference_flux(w, rad, q_air, h_conv, dt)
        self._air(state, w, dt, qh_ref)
        self.time = t1
        self._diagnose(state, w, rad=rad)
        self._accumulate(state, w, dt)

    def _radiation(self, w, dt: float = 0.0) -> Radiation:
        """Direct-sun shares, wall fluxes and surface irradiance at the time of ``w``; the wall
        temperatures advance by ``dt`` (s)."""
        p = self.params
        geo = self.geometry
        sun = self._buf["sun"]
        geo.sunlit(w.sun_altitude, w.sun_azimuth, out=sun.reshape(geo.shape))
        alt = math.radians(max(w.sun_altitude, 0.0))
        sin_alt, cos_alt = math.sin(alt), math.cos(alt)
        dni = w.shortwave_direct_normal if w.sun_altitude > 0 else 0.0
        diffuse = w.shortwave_diffuse
        if dni > 0.0 and sin_alt > 0.0:
            # Hay & Davies (1980): the circumsolar share A = I / I0 of the diffuse comes from
            # the sun's direction (and is shaded with the beam), the rest from the whole sky
            a = min(dni / _extraterrestrial(w.time), 1.0)
            dni, diffuse = dni + a * diffuse / sin_alt, (1.0 - a) * diffuse
        open_sun = self._open_sun_share(sun)
        # walls facing N, E, S, W: beam on a vertical plane, half sky, half ground
        ground_refl = 0.15 * (dni * sin_alt + diffuse)
        azr = math.radians(w.sun_azimuth)
        wall_k = np.array([
            dni * cos_alt * max(math.cos(azr - 0.5 * math.pi * d), 0.0) * open_sun
            + 0.5 * diffuse + 0.5 * ground_refl for d in range(4)
        ])
        sky_air = 0.5 * w.longwave_down + 0.5 * STEFAN_BOLTZMANN * w.air_temperature**4
        n4 = np.ones(4)
        hw = np.full(4, 5.7 + 3.8 * p.street_wind_factor * w.wind_speed)
        dummy = np.zeros(4)
        if dt > 0:
            energy.surface_temperature_step(
                self.t_wall, (1 - p.wall_albedo) * wall_k, p.wall_emissivity * sky_air * n4,
                np.full(4, w.air_temperature), n4 * p.wall_admittance / math.sqrt(2 * OMEGA),
                n4 * p.wall_emissivity, dummy, dummy, np.full(4, self.t_deep), hw,
                q_air=0.0, pressure=w.air_pressure, dt=dt, omega=OMEGA, theta=0.5,
                out_qh=np.empty(4), out_qe=np.empty(4), out_qg=np.empty(4),
            )
        wall_l = (p.wall_emissivity * STEFAN_BOLTZMANN * self.t_wall**4
                  + (1 - p.wall_emissivity) * sky_air)
        eps_leaf = self._leaf_emissivity
        leaf_l = (eps_leaf * STEFAN_BOLTZMANN * w.air_temperature**4
                  + (1 - eps_leaf) * w.longwave_down)  # crowns at air temperature (SOLWEIG)
        rad = Radiation(radiation.Sky(dni, diffuse, sin_alt, cos_alt, w.longwave_down),
                        radiation.Surroundings(wall_k, wall_l, leaf_l, p.wall_albedo))
        radiation.irradiance_at_surface(
            sun, self.svf, self.svf_side, self.svf_building, rad.sky, rad.surroundings,
            out_shortwave=self._buf["kd"], out_longwave=self._buf["ld"],
        )
        return rad

    def _reference_flux(self, w, rad, q_air, h_conv, dt) -> float:
        """Sensible heat of open grass under the same weather (the weather station's site)."""
        grass = self._grass
        sky = rad.sky
        k = (1 - grass["albedo"]) * (sky.direct_normal * sky.sin_alt + sky.diffuse)
        one = np.ones(1)
        qh = np.empty(1)
        energy.surface_temperature_step(
            self.t_reference, k, grass["emissivity"] * w.longwave_down,
            np.full(1, w.air_temperature), grass["thermal_admittance"] / math.sqrt(2 * OMEGA),
            grass["emissivity"], grass["evaporation_efficiency"], 0 * one,
            self.t_deep * one, h_conv * one, q_air=q_air, pressure=w.air_pressure, dt=dt,
            omega=OMEGA, theta=0.5, out_qh=qh, out_qe=np.empty(1), out_qg=np.empty(1),
        )
        return float(qh[0])

    def _air(self, state, w, dt, qh_ref) -> None:
        """Advance the air-temperature anomaly on the coarse grid and map it to the cells."""
        p = self.params
        grid = state.grid
        heat = self._buf["qh"] - qh_ref
        if "traffic_heat_flux" in state:
            heat = heat + np.nan_to_num(state["traffic_heat_flux"].ravel())
        rows, cols = self.owned_slices
        crows, ccols = self.air_dec.owned
        air.block_mean(heat.reshape(grid.shape)[rows, cols], self.factor,
                           out=self._heat_c[crows, ccols])
        self._heat_c /= AIR_VOLUMETRIC_HEAT_CAPACITY * p.air_layer_depth
        dx = self.factor * grid.resolution
        wd = math.radians(w.wind_direction)
        u, v = -w.wind_speed * math.sin(wd), -w.wind_speed * math.cos(wd)  # blowing towards
        exch = max(p.exchange_coefficient * w.wind_speed, p.min_exchange_velocity)
        limit = 0.9 / (
            (abs(u) + abs(v)) / dx + 4.0 * p.horizontal_diffusivity / dx**2 + 1e-12
        )
        n_sub = max(1, int(math.ceil(dt / limit)))
        tmp = np.empty_like(self.theta)
        for _ in range(n_sub):
            air.air_temperature_step(
                self.theta, self._heat_c, u_east=u, v_north=v, dx=dx, dt=dt / n_sub,
                diffusivity=p.horizontal_diffusivity, relax=exch / p.air_layer_depth, out=tmp,
            )
            self.theta[...] = tmp
            self.air_dec.exchange_halos(self.theta)
        self._theta_to_fine()

    def _theta_to_fine(self) -> None:
        fine, coarse = self.ctx.decomposition.local_window, self.air_dec.local_window
        air.bilinear_to_fine(
            self.theta, self.factor, out=self._theta_fine, row0=fine[0].start,
            col0=fine[1].start, coarse_row0=coarse[0].start, coarse_col0=coarse[1].start,
            coarse_ny=self.air_dec.global_shape[0], coarse_nx=self.air_dec.global_shape[1])

    def _open_sun_share(self, sun) -> float:
        """Sunlit share of the open ground of the whole domain, summed in fixed point (2^-20)
        so that the total is exact whatever the split over ranks, and cheap every step."""
        if self.n_counted == 0:
            return 1.0
        fixed = radiation.fixed_point_sum(sun, self._counted_flat, scale=2.0**20)
        return self.ctx.global_sum(float(fixed)) / 2.0**20 / self.n_counted

    # -- diagnostics ---------------------------------------------------------------------------
    def _diagnose(self, state, w, rad=None) -> None:
        """Air temperature, Tmrt and UTCI at the time of ``w`` into the state."""
        p = self.params
        if rad is None:
            rad = self._radiation(w)
        shape = state.grid.shape
        t_air = state["air_temperature"]
        np.add(self._theta_fine, w.air_temperature, out=t_air)
        state["surface_temperature"][...] = self.t_surface.reshape(shape)
        tmrt = self._buf["tmrt"]
        k_up, l_up = self._ground_seen(shape)
        radiation.mean_radiant_temperature_at_cell(
            self._buf["sun"], self.svf_side, self.side_building, self._buf["kd"],
            self._buf["ld"], k_up, l_up, rad.sky, rad.surroundings,
            abs_k=p.absorption_shortwave, abs_l=p.absorption_longwave, f_up=0.06, f_side=0.22,
            f_cyl=0.28, out=tmrt,
        )
        state["mean_radiant_temperature"][...] = tmrt.reshape(shape)
        ta_c = np.subtract(t_air.ravel(), KELVIN_OFFSET, out=self._scratch("ta_c"))
        tmrt_c = np.subtract(tmrt, KELVIN_OFFSET, out=self._scratch("tmrt_c"))
        # the weather air's vapour pressure (kPa; UTCI's own saturation formula, so that at the
        # weather's temperature UTCI is that of pythermalcomfort for its RH), kept as the
        # streets warm the air, capped at saturation where they are cooler
        vapour = w.relative_humidity / 100.0 * comfort.saturation_vapour_pressure_kpa(
            w.air_temperature - KELVIN_OFFSET)
        if self.theta.min() < 0.0 and t_air.min() <= dew_point(1000.0 * vapour) + 1e-6:
            pa = np.minimum(vapour, saturation_vapour_pressure(t_air.ravel()) / 1000.0)
            wind = np.full(ta_c.shape, w.wind_speed)
            comfort.utci_from_vapour_pressure(ta_c, tmrt_c, wind, pa, where=self._pedestrian,
                                              out=self._buf["utci"])
        else:  # one wind and one vapour pressure for all cells: the collapsed polynomial
            comfort.utci_uniform_at_cell(ta_c, tmrt_c, w.wind_speed, vapour,
                                         where=self._pedestrian, out=self._buf["utci"])
        state["universal_thermal_comfort_index"][...] = self._buf["utci"].reshape(shape)
        np.fmax(state["utci_daily_max"], state["universal_thermal_comfort_index"],
                out=state["utci_daily_max"])
        np.fmax(state["mean_radiant_temperature_daily_max"], state["mean_radiant_temperature"],
                out=state["mean_radiant_temperature_daily_max"])

    def _scratch(self, name: str, init=None) -> np.ndarray:
        """A work array of one value per cell kept between steps (``init``: its fixed value),
        so that the per-step path allocates nothing of the grid's size."""
        arr = self._work.get(name) if hasattr(self, "_work") else None
        if arr is None:
            if not hasattr(self, "_work"):
                self._work = {}
            arr = self._work[name] = (np.empty(self.t_surface.shape) if init is None
                                      else np.array(init, dtype=float))
        return arr

    def _ground_seen(self, shape):
        """Reflected shortwave and emitted + reflected longwave of the ground a person sees
        (W m-2): own-cell values averaged over the ground within ``ground_view_radius``."""
        k_up = self._buf["kup"]
        l_up = self._buf["lup"]
        radiation.ground_exitance_at_cell(self.albedo, self.emissivity, self.t_surface,
                                        self._buf["kd"], self._buf["ld"], out_k=k_up, out_l=l_up)
        if self._view_cells > 0:
            for arr in (k_up, l_up):
                radiation.ground_view_mean(arr.reshape(shape), self._ground, radius=self._view_cells,
                                         out=arr.reshape(shape))
        return k_up, l_up

    def _accumulate(self, state, w, dt) -> None:
        utci = state["universal_thermal_comfort_index"]
        part = "day" if w.is_day else "night"
        hours = dt / 3600.0
        for thr in (32, 38):
            state[f"utci_hours_above_{thr}_{part}"][utci > thr] += hours
        out = self.outdoor
        integral = state["heat_utci_time_integral"]
        np.add(integral, dt * utci, out=integral, where=out)
        self.utci_time += dt
        if not w.is_day:
            integral = state["heat_night_air_time_integral"]
            np.add(integral, dt * state["air_temperature"], out=integral, where=out)
            self.night_time += dt
        local = w.time
        gap = abs(local.hour * 3600 + local.minute * 60 + local.second - 43200)
        if gap < self._noon_gap and gap <= 1800:
            self._noon_gap = gap
            tmrt = self._reduce(state["mean_radiant_temperature"], "mean")[0]
            self.tmrt_noon = tmrt - KELVIN_OFFSET

    def _reduce(self, values, how: str, cells=None) -> tuple[float, dict[str, float]]:
        """Total and per-district ``how`` ("sum", "mean" or "max") of ``values`` over the
        outdoor cells (and ``cells``) of the whole domain: this rank's owned cells reduced over
        the ranks with exact sums, so any split gives the same numbers."""
        ctx = self.ctx
        groups = self._groups if cells is None else np.where(cells, self._groups, -1)
        totals = ctx.global_group_sums(values, groups, len(self.district_names) + 1)
        if totals is not None:  # every counted value finite: all of it from one pass
            return self._from_groups(totals, how)
        cells = self.counted if cells is None else cells & self.counted

        def one(sel):
            if how == "max":
                v = values[sel]
                top = ctx.global_max(float(v.max()) if v.size else -math.inf)
                return top if top > -math.inf else float("nan")
            total = ctx.global_sum(values[sel])
            if how == "sum":
                return total
            n = ctx.global_sum(float(sel.sum()))
            return total / n if n else float("nan")

        by = {name: one(cells & (self._district == code))
              for code, name in self.district_names.items()}
        return one(cells), by

    def _from_groups(self, totals, how: str) -> tuple[float, dict[str, float]]:
        """``_reduce``'s numbers from per-district exact sums, counts and maxima: the same
        numbers (sums are exact, so grouping cannot change them)."""

        def one(groups):
            if how == "max":
                top = float(totals.maxima[groups].max())
                return top if top > -math.inf else float("nan")
            total = totals.total(groups)
            if how == "sum":
                return total
            n = float(totals.counts[groups].sum())
            return total / n if n else float("nan")

        every = list(range(len(self.district_names) + 1))
        by = {name: one([i]) for i, name in enumerate(self.district_names.values())}
        return one(every), by

    # -- indicators ------------------------------------------------------------------------------
    def indicators(self, state) -> dict[str, Indicator]:
        area = state.grid.cell_area / 1e6
        umax = state["utci_daily_max"]
        ones = np.ones(state.grid.shape)
        res: dict[str, Indicator] = {}
        for thr, label in ((STRONG, "strong"), (VERY_STRONG, "very_strong")):
            total, by = self._reduce(ones, "sum", umax > thr)
            res[f"{label}_heat_stress_area"] = Indicator(
                total * area, "km2",
                f"outdoor area where UTCI exceeded {thr:g} degC ({label.replace('_', ' ')} heat stress)",
                by_district={k: v * area for k, v in by.items()})
            hours = sum(state[f"utci_hours_above_{int(thr)}_{d}"] for d in ("day", "night"))
            for part in ("day", "night"):
                total, by = self._reduce(state[f"utci_hours_above_{int(thr)}_{part}"], "mean")
                res[f"{label}_heat_stress_hours_{part}"] = Indicator(
                    total, "h", f"mean {part}time hours per outdoor cell with UTCI above {thr:g} degC",
                    by_district=by)
            total, by = self._reduce(hours, "mean")
            res[f"{label}_heat_stress_hours"] = Indicator(
                total, "h", f"mean hours per outdoor cell with UTCI above {thr:g} degC",
                by_district=by)
        span = self.utci_time if self.utci_time > 0 else float("nan")
        total, by = self._reduce(state["heat_utci_time_integral"], "mean")
        res["utci_mean"] = Indicator(
            total / span, "degree_C", "time and area mean UTCI of outdoor cells",
            by_district={k: v / span for k, v in by.items()})
        total, by = self._reduce(umax, "max")
        res["utci_peak"] = Indicator(total, "degree_C", "highest UTCI on any outdoor cell",
                                     by_district=by)
        res["tmrt_noon"] = Indicator(
            self.tmrt_noon, "degree_C", "mean radiant temperature of outdoor cells at 12:00")
        night = self.night_time if self.night_time > 0 else float("nan")
        total, _ = self._reduce(state["heat_night_air_time_integral"], "mean")
        res["air_temperature_night"] = Indicator(
            total / night - KELVIN_OFFSET, "degree_C",
            "mean night-time near-surface air temperature of outdoor cells")
        res["weather_air_temperature"] = Indicator(
            self.weather.at(self.time).air_temperature - KELVIN_OFFSET, "degree_C",
            "air temperature of the weather now (the rural reference the city's air-temperature "
            "anomaly is added to)")
        return res

    def checkpoint(self) -> dict:
        """The global part of the state; per-cell temperatures, the air anomaly and the time
        integrals are state variables (saved by tile, so restarts may change the ranks)."""
        return {"time": self.time, "t_wall": self.t_wall.copy(),
                "t_reference": self.t_reference.copy(), "utci_time": self.utci_time,
                "night_time": self.night_time, "tmrt_noon": self.tmrt_noon,
                "noon_gap": self._noon_gap}

    def restore(self, saved: dict) -> None:
        self.time = float(saved["time"])
        for key in ("t_wall", "t_reference"):
            getattr(self, key)[...] = saved[key]
        self.utci_time, self.night_time = float(saved["utci_time"]), float(saved["night_time"])
        self.tmrt_noon, self._noon_gap = float(saved["tmrt_noon"]), float(saved["noon_gap"])
        state = self.state
        self.t_surface[...] = state["surface_temperature"].ravel()
        rows, cols = self.owned_slices
        crows, ccols = self.air_dec.owned
        self.theta[crows, ccols] = state["heat_air_anomaly"][rows, cols][::self.factor, ::self.factor]
        self.air_dec.exchange_halos(self.theta)
        self._theta_to_fine()


class _Views:
    """The state's arrays looked up once per ``advance`` (each xarray lookup costs ~0.3 ms)."""

    def __init__(self, state):
        self._state = state
        self._cache: dict[str, np.ndarray] = {}
        self.grid = state.grid

    def __getitem__(self, name: str) -> np.ndarray:
        view = self._cache.get(name)
        if view is None:
            view = self._cache[name] = self._state[name]
        return view

    def __contains__(self, name: str) -> bool:
        return name in self._state


def _horizon_window(dec, margin: int):
    """The global window (rows, cols) of the local arrays widened by ``margin`` cells (clipped
    to the domain), and where the local arrays lie in it."""
    window = tuple(slice(max(0, s.start - margin), min(n, s.stop + margin))
                   for s, n in zip(dec.local_window, dec.global_shape))
    crop = tuple(slice(s.start - w.start, s.stop - w.start)
                 for s, w in zip(dec.local_window, window))
    return window, crop


def _extraterrestrial(time) -> float:
    """Solar irradiance at the top of the atmosphere on a plane facing the sun (W m-2): the
    solar constant 1361 W m-2 (Kopp & Lean 2011, doi:10.1029/2010GL045777) times the
    Earth-Sun distance factor 1 + 0.033 cos(2 pi doy / 365) (Duffie & Beckman 2013, eq. 1.4.1a)."""
    doy = time.timetuple().tm_yday
    return SOLAR_CONSTANT * (1.0 + 0.033 * math.cos(2.0 * math.pi * doy / 365.0))


def _specific_humidity(w) -> float:
    """Specific humidity (kg kg-1) of the weather's air."""
    e = w.relative_humidity / 100.0 * float(saturation_vapour_pressure(w.air_temperature))
    return specific_humidity(e, w.air_pressure)
