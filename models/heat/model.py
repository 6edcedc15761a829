"""The heat model: shadows and sky view from the city's 3D form, a surface energy balance per
cell, near-surface air temperature that responds to the surfaces and to traffic, and the
mean radiant temperature and UTCI a pedestrian feels.

>>> import numpy as np
>>> from metrotwin.testing import make_grid, make_state, make_context
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
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from metrotwin.errors import ModelError
from metrotwin.indicators import Indicator, reduce_by_district, sum_by_district
from metrotwin.landcover import CODE
from metrotwin.model import Model
from metrotwin.models.heat import kernels
from metrotwin.models.heat.geometry import Geometry, build_geometry
from metrotwin.models.heat.surface import check_overrides, surface_arrays
from metrotwin.variables import VarSpec

OMEGA = 2.0 * math.pi / 86400.0  # daily angular frequency (s-1)
RHO_CP = 1.2 * kernels.CP_AIR  # volumetric heat capacity of air (J m-3 K-1)
STRONG, VERY_STRONG = 32.0, 38.0  # UTCI heat-stress thresholds (degC), Broede et al. 2012


class HeatModelError(ModelError):
    """The heat model cannot run on this city or weather (names the layer and the value)."""


class Params(BaseModel):
    """Parameters of the heat model (physics defaults; units in parentheses)."""

    model_config = ConfigDict(extra="forbid")

    time_step: float = Field(300.0, gt=0, le=3600, description="energy-balance step (s)")
    azimuths: int = Field(32, ge=8, le=360, description="horizon directions for the sky view")
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


def _grid(units, doc, standard_name=None, output=True, fill=0.0):
    return VarSpec("out", units, doc, standard_name=standard_name, output=output, fill=fill)


class HeatModel(Model):
    """Urban heat: radiation in 3D, surface energy balance, air temperature, Tmrt and UTCI.

    References
    ----------
    Lindberg, Holmer & Thorsson (2008) Int J Biometeorol 52:697-713,
    doi:10.1007/s00484-008-0162-7 (SOLWEIG: shadows, SVF, six-direction Tmrt).
    Deardorff (1978) JGR 83:1889-1903, doi:10.1029/JC083iC04p01889 (force-restore).
    Broede et al. (2012) Int J Biometeorol 56:481-494, doi:10.1007/s00484-011-0454-1 (UTCI).
    """

    name: ClassVar[str] = "heat"
    halo: ClassVar[int] = 1  # air stencil: one coarse air cell; shadows/SVF need a horizon halo
    # shadows and sky view need the horizon far beyond a tile's halo: not yet decomposed
    decomposable: ClassVar[bool] = False
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
            "universal_thermal_comfort_index", fill=np.nan),
        "mean_radiant_temperature": _grid(
            "K", "mean radiant temperature of a standing person", fill=np.nan),
        "air_temperature": _grid("K", "near-surface air temperature", "air_temperature", fill=np.nan),
        "surface_temperature": _grid("K", "surface (ground or roof) temperature",
                                     "surface_temperature", fill=np.nan),
        "utci_daily_max": _grid("degree_C", "maximum UTCI since the start",
                                fill=np.nan),
        "mean_radiant_temperature_daily_max": _grid(
            "K", "maximum mean radiant temperature since the start", fill=np.nan),
        "utci_hours_above_32_day": _grid("h", "daytime hours with UTCI above 32 degC (strong heat stress)"),
        "utci_hours_above_32_night": _grid("h", "night hours with UTCI above 32 degC"),
        "utci_hours_above_38_day": _grid("h", "daytime hours with UTCI above 38 degC (very strong heat stress)"),
        "utci_hours_above_38_night": _grid("h", "night hours with UTCI above 38 degC"),
        "sky_view_factor": _grid("1", "sky view factor (buildings and tree crowns)", output=False),
    }

    # -- set-up -------------------------------------------------------------------------------
    def initialize(self, state, ctx) -> None:
        p = self.params
        self.ctx = ctx
        weather = ctx.forcing.weather
        if weather is None:
            raise HeatModelError(
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
                raise HeatModelError(f"{name} has {int((~np.isfinite(arr)).sum())} missing (NaN) cells")
        if (height < 0).any() or (canopy < 0).any():
            name = "building_height" if (height < 0).any() else "tree_canopy_height"
            raise HeatModelError(
                f"{name} is negative in {int((state[name] < 0).sum())} cells (min "
                f"{float(state[name].min()):.2f} m): the surface model lies below the ground "
                f"model (DSM lower than DEM); heights above ground must be >= 0"
            )
        try:
            surf = surface_arrays(np.asarray(state["land_cover"]), p.surface)
        except ValueError as err:
            raise HeatModelError(str(err)) from None
        self.geometry: Geometry = build_geometry(
            ground, height, canopy, resolution=grid.resolution, n_azimuth=p.azimuths,
            transmissivity=p.leaf_transmissivity,
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
        # air grid
        self.factor = max(1, int(round(p.air_cell_size / grid.resolution)))
        shape_c = (-(-grid.ny // self.factor), -(-grid.nx // self.factor))
        self.theta = np.zeros(shape_c)
        self._heat_c = np.zeros(shape_c)
        self._theta_fine = np.zeros(grid.shape)
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
        self.utci_sum = np.zeros(len(state.district_names) + 1)
        self.utci_time = 0.0
        self.night_air_sum = 0.0
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

    def _step(self, state, dt: float) -> None:
        p = self.params
        t1 = self.time + dt
        w = self.weather.at(t1)
        rad = self._radiation(w, dt)
        ta = self._buf["ta"]
        ta[:] = state["air_temperature"].ravel()
        q_air = _specific_humidity(w)
        h_conv = 5.7 + 3.8 * p.street_wind_factor * w.wind_speed  # Juerges, W m-2 K-1
        hc = np.full(ta.shape, h_conv)
        k_abs = (1.0 - self.albedo) * self._buf["kd"]
        l_abs = self.emissivity * self._buf["ld"]
        t_deep = np.full(ta.shape, self.t_deep)
        kernels.surface_temperature_step(
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

    def _radiation(self, w, dt: float = 0.0) -> dict:
        """Direct-sun shares, wall fluxes and surface irradiance at the time of ``w``; the wall
        temperatures advance by ``dt`` (s)."""
        p = self.params
        geo = self.geometry
        sun = self._buf["sun"]
        geo.sunlit(w.sun_altitude, w.sun_azimuth, out=sun.reshape(geo.dsm.shape))
        alt = math.radians(max(w.sun_altitude, 0.0))
        sin_alt, cos_alt = math.sin(alt), math.cos(alt)
        dni = w.shortwave_direct_normal if w.sun_altitude > 0 else 0.0
        diffuse = w.shortwave_diffuse
        open_sun = float(sun[self.outdoor.ravel()].mean()) if self.outdoor.any() else 1.0
        # walls facing N, E, S, W: beam on a vertical plane, half sky, half ground
        ground_refl = 0.15 * (dni * sin_alt + diffuse)
        azr = math.radians(w.sun_azimuth)
        wall_k = np.array([
            dni * cos_alt * max(math.cos(azr - 0.5 * math.pi * d), 0.0) * open_sun
            + 0.5 * diffuse + 0.5 * ground_refl for d in range(4)
        ])
        sky_air = 0.5 * w.longwave_down + 0.5 * kernels.SIGMA * w.air_temperature**4
        n4 = np.ones(4)
        hw = np.full(4, 5.7 + 3.8 * p.street_wind_factor * w.wind_speed)
        dummy = np.zeros(4)
        if dt > 0:
            kernels.surface_temperature_step(
                self.t_wall, (1 - p.wall_albedo) * wall_k, p.wall_emissivity * sky_air * n4,
                np.full(4, w.air_temperature), n4 * p.wall_admittance / math.sqrt(2 * OMEGA),
                n4 * p.wall_emissivity, dummy, dummy, np.full(4, self.t_deep), hw,
                q_air=0.0, pressure=w.air_pressure, dt=dt, omega=OMEGA, theta=0.5,
                out_qh=np.empty(4), out_qe=np.empty(4), out_qg=np.empty(4),
            )
        wall_l = (p.wall_emissivity * kernels.SIGMA * self.t_wall**4
                  + (1 - p.wall_emissivity) * sky_air)
        eps_leaf = self._leaf_emissivity
        leaf_l = (eps_leaf * kernels.SIGMA * w.air_temperature**4
                  + (1 - eps_leaf) * w.longwave_down)  # crowns at air temperature (SOLWEIG)
        kernels.irradiance_at_surface(
            sun, self.svf, self.svf_side, self.svf_building, dni, diffuse, sin_alt,
            w.longwave_down, wall_k, wall_l, leaf_l, wall_albedo=p.wall_albedo,
            out_shortwave=self._buf["kd"], out_longwave=self._buf["ld"],
        )
        return {"dni": dni, "diffuse": diffuse, "sin_alt": sin_alt, "cos_alt": cos_alt,
                "wall_k": wall_k, "wall_l": wall_l, "leaf_l": leaf_l}

    def _reference_flux(self, w, rad, q_air, h_conv, dt) -> float:
        """Sensible heat of open grass under the same weather (the weather station's site)."""
        grass = self._grass
        k = (1 - grass["albedo"]) * (rad["dni"] * rad["sin_alt"] + rad["diffuse"])
        one = np.ones(1)
        qh = np.empty(1)
        kernels.surface_temperature_step(
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
        kernels.block_mean(heat.reshape(grid.shape), self.factor, out=self._heat_c)
        self._heat_c /= RHO_CP * p.air_layer_depth
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
            kernels.air_temperature_step(
                self.theta, self._heat_c, u_east=u, v_north=v, dx=dx, dt=dt / n_sub,
                diffusivity=p.horizontal_diffusivity, relax=exch / p.air_layer_depth, out=tmp,
            )
            self.theta[...] = tmp
        self.ctx.exchange_halos(self.theta)
        kernels.bilinear_to_fine(self.theta, self.factor, out=self._theta_fine)

    # -- diagnostics ---------------------------------------------------------------------------
    def _diagnose(self, state, w, rad=None) -> None:
        """Air temperature, Tmrt and UTCI at the time of ``w`` into the state."""
        p = self.params
        if rad is None:
            rad = self._radiation(w)
        shape = state.grid.shape
        t_air = w.air_temperature + self._theta_fine
        state["air_temperature"][...] = t_air
        state["surface_temperature"][...] = self.t_surface.reshape(shape)
        tmrt = self._buf["tmrt"]
        k_up, l_up = self._ground_seen(shape)
        kernels.mean_radiant_temperature_at_cell(
            self._buf["sun"], self.svf_side, self.side_building, self._buf["kd"],
            self._buf["ld"], k_up, l_up, rad["dni"], rad["diffuse"], rad["cos_alt"],
            w.longwave_down, rad["wall_k"], rad["wall_l"], rad["leaf_l"], wall_albedo=p.wall_albedo,
            abs_k=p.absorption_shortwave, abs_l=p.absorption_longwave, f_up=0.06, f_side=0.22,
            f_cyl=0.28, out=tmrt,
        )
        state["mean_radiant_temperature"][...] = tmrt.reshape(shape)
        ta_c = t_air.ravel() - 273.15
        # the weather air's vapour pressure (kPa; UTCI's own saturation formula, so that at the
        # weather's temperature UTCI is that of pythermalcomfort for its RH), kept as the
        # streets warm the air, capped at saturation where they are cooler
        vapour = w.relative_humidity / 100.0 * kernels.saturation_vapour_pressure_kpa(
            w.air_temperature - 273.15)
        if self.theta.min() < 0.0:
            pa = np.minimum(vapour, _es(t_air.ravel()) / 1000.0)
        else:
            pa = np.full(ta_c.shape, vapour)
        wind = np.full(ta_c.shape, w.wind_speed)
        kernels.utci_from_vapour_pressure(ta_c, tmrt - 273.15, wind, pa, where=self._pedestrian,
                                          out=self._buf["utci"])
        state["universal_thermal_comfort_index"][...] = self._buf["utci"].reshape(shape)
        np.fmax(state["utci_daily_max"], state["universal_thermal_comfort_index"],
                out=state["utci_daily_max"])
        np.fmax(state["mean_radiant_temperature_daily_max"], state["mean_radiant_temperature"],
                out=state["mean_radiant_temperature_daily_max"])

    def _ground_seen(self, shape):
        """Reflected shortwave and emitted + reflected longwave of the ground a person sees
        (W m-2): own-cell values averaged over the ground within ``ground_view_radius``."""
        k_up = self._buf["kup"]
        l_up = self._buf["lup"]
        kernels.ground_exitance_at_cell(self.albedo, self.emissivity, self.t_surface,
                                        self._buf["kd"], self._buf["ld"], out_k=k_up, out_l=l_up)
        if self._view_cells > 0:
            for arr in (k_up, l_up):
                kernels.ground_view_mean(arr.reshape(shape), self._ground, radius=self._view_cells,
                                         out=arr.reshape(shape))
        return k_up, l_up

    def _accumulate(self, state, w, dt) -> None:
        utci = state["universal_thermal_comfort_index"]
        part = "day" if w.is_day else "night"
        hours = dt / 3600.0
        for thr in (32, 38):
            state[f"utci_hours_above_{thr}_{part}"][utci > thr] += hours
        out = self.outdoor
        if out.any():
            dist = state["district"]
            self.utci_sum += dt * np.bincount(dist[out], weights=utci[out],
                                              minlength=self.utci_sum.size)[: self.utci_sum.size]
            self.utci_time += dt
            if not w.is_day:
                self.night_air_sum += dt * float(state["air_temperature"][out].mean())
                self.night_time += dt
            local = w.time
            gap = abs(local.hour * 3600 + local.minute * 60 + local.second - 43200)
            if gap < self._noon_gap and gap <= 1800:
                self._noon_gap = gap
                self.tmrt_noon = float(state["mean_radiant_temperature"][out].mean()) - 273.15

    # -- indicators ------------------------------------------------------------------------------
    def indicators(self, state) -> dict[str, Indicator]:
        ctx = self.ctx
        names = state.district_names
        dist = np.asarray(state["district"])
        out = self.outdoor
        area = state.grid.cell_area / 1e6
        umax = state["utci_daily_max"]
        res: dict[str, Indicator] = {}
        for thr, label in ((STRONG, "strong"), (VERY_STRONG, "very_strong")):
            cells = out & (umax > thr)
            by = {k: v * area for k, v in sum_by_district(cells.astype(float), dist, names).items()}
            res[f"{label}_heat_stress_area"] = Indicator(
                ctx.global_sum(float(cells.sum()) * area), "km2",
                f"outdoor area where UTCI exceeded {thr:g} degC ({label.replace('_', ' ')} heat stress)",
                by_district=by)
            hours = sum(state[f"utci_hours_above_{int(thr)}_{d}"] for d in ("day", "night"))
            for part in ("day", "night"):
                hp = state[f"utci_hours_above_{int(thr)}_{part}"]
                res[f"{label}_heat_stress_hours_{part}"] = Indicator(
                    _mean(ctx, hp, out), "h",
                    f"mean {part}time hours per outdoor cell with UTCI above {thr:g} degC",
                    by_district=reduce_by_district(np.where(out, hp, np.nan), dist, names, np.nanmean))
            res[f"{label}_heat_stress_hours"] = Indicator(
                _mean(ctx, hours, out), "h",
                f"mean hours per outdoor cell with UTCI above {thr:g} degC",
                by_district=reduce_by_district(np.where(out, hours, np.nan), dist, names, np.nanmean))
        total_cells = np.bincount(dist[out], minlength=self.utci_sum.size)[: self.utci_sum.size]
        mean_utci = (self.utci_sum.sum() / max(total_cells.sum(), 1) / self.utci_time
                     if self.utci_time > 0 else float("nan"))
        res["utci_mean"] = Indicator(
            mean_utci, "degree_C", "time and area mean UTCI of outdoor cells",
            by_district={nm: (self.utci_sum[c] / total_cells[c] / self.utci_time
                              if total_cells[c] and self.utci_time else float("nan"))
                         for c, nm in names.items()})
        res["utci_peak"] = Indicator(
            ctx.global_max(float(np.nanmax(np.where(out, umax, -np.inf)))), "degree_C",
            "highest UTCI on any outdoor cell", by_district=reduce_by_district(
                np.where(out, umax, np.nan), dist, names, np.nanmax))
        res["tmrt_noon"] = Indicator(
            self.tmrt_noon, "degree_C", "mean radiant temperature of outdoor cells at 12:00")
        res["air_temperature_night"] = Indicator(
            self.night_air_sum / self.night_time - 273.15 if self.night_time else float("nan"),
            "degree_C", "mean night-time near-surface air temperature of outdoor cells")
        return res

    def checkpoint(self) -> dict:
        return {"time": self.time, "t_surface": self.t_surface.copy(), "t_wall": self.t_wall.copy(),
                "t_reference": self.t_reference.copy(), "theta": self.theta.copy()}

    def restore(self, saved: dict) -> None:
        self.time = float(saved["time"])
        for key in ("t_surface", "t_wall", "t_reference", "theta"):
            getattr(self, key)[...] = saved[key]


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


def _mean(ctx, values, mask) -> float:
    n = ctx.global_sum(float(mask.sum()))
    return ctx.global_sum(float(values[mask].sum())) / n if n else float("nan")


def _es(t_kelvin):
    """Saturation vapour pressure (Pa), Bolton (1980)."""
    tc = np.asarray(t_kelvin) - 273.15
    return 611.2 * np.exp(17.67 * tc / (tc + 243.5))


def _specific_humidity(w) -> float:
    e = w.relative_humidity / 100.0 * float(_es(w.air_temperature))
    return 0.622 * e / (w.air_pressure - 0.378 * e)
