"""TNTP road networks (Transportation Networks for Research,
https://github.com/bstabler/TransportationNetworks): a ``_net.tntp`` link file and its
``_node.tntp`` coordinates, read into plain arrays. The roads source (``format: tntp``) puts
them in the city state; the mobility model wraps them in its routing graph
(``metrotwin.models.mobility.network.read_tntp_network``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metrotwin.errors import DataSourceError


class TntpError(DataSourceError):
    """A TNTP file that cannot be read."""


class TntpLinkError(TntpError):
    """A TNTP link that cannot be simulated (a free-flow time that is not positive)."""


@dataclass(frozen=True)
class TntpNetwork:
    """The links of a TNTP file: node coordinates (m), link end nodes (indices into the
    nodes), length (m), lanes, free speed (m s-1), capacity (veh h-1), the file's node
    numbers and the file it came from."""

    node_x: np.ndarray
    node_y: np.ndarray
    link_from: np.ndarray
    link_to: np.ndarray
    length: np.ndarray
    lanes: np.ndarray
    free_speed: np.ndarray
    capacity: np.ndarray
    node_ids: np.ndarray
    source: str


def tntp_rows(path: Path):
    """The data rows of a TNTP file after <END OF METADATA> (';'-terminated)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise TntpError(f"cannot read {path}: {err}") from None
    meta, _, body = text.partition("<END OF METADATA>")
    if not body:
        raise TntpError(f"{path}: no <END OF METADATA> line; is this a TNTP file?")
    return meta, body


def tntp_meta(meta: str, key: str, path) -> str | None:
    for line in meta.splitlines():
        if line.strip().upper().startswith(f"<{key}>"):
            return line.split(">", 1)[1].strip()
    return None


def read_tntp(net_path, node_path=None, *, length_factor: float = 1609.344,
               time_factor: float = 60.0, lane_capacity: float = 1800.0,
               crs: str | None = None) -> TntpNetwork:
    """A network from a TNTP ``_net.tntp`` file (and its ``_node.tntp`` coordinates).

    Lengths are file units x ``length_factor`` (m; TNTP files mostly use miles), free speed
    = length / (free_flow_time x ``time_factor``) (s per file unit, minutes by default),
    capacity in veh/h, lanes = ceil(capacity / ``lane_capacity``). Node coordinates in
    lon/lat are projected to ``crs`` (default: the UTM zone of the network's centre).
    """
    meta, body = tntp_rows(net_path)
    rows = []
    # errors give line numbers, never the line: the file may be anything (od_file: /etc/passwd)
    first_line = meta.count("\n") + 1
    for n, line in enumerate(body.splitlines(), start=first_line):
        line = line.strip()
        if not line or line.startswith("~"):
            continue
        parts = line.rstrip(";").split()
        try:
            a, b, cap, length, fft = int(parts[0]), int(parts[1]), *map(float, parts[2:5])
        except (ValueError, IndexError):
            raise TntpError(f"{net_path}, line {n}: cannot parse it as a link; expected "
                                "init_node term_node capacity length free_flow_time ...") from None
        rows.append((a, b, cap, length, fft))
    if not rows:
        raise TntpError(f"{net_path}: no links")
    a, b, cap, length, fft = (np.array(c) for c in zip(*rows))
    declared = tntp_meta(meta, "NUMBER OF LINKS", net_path)
    if declared is not None and declared.isdigit() and int(declared) != len(rows):
        raise TntpError(f"{net_path}: <NUMBER OF LINKS> is {declared} but {len(rows)} links "
                            "were read")
    ids = np.unique(np.concatenate([a, b]))
    x = y = None
    if node_path is not None:
        x, y, node_ids = read_tntp_nodes(node_path)
        missing = np.setdiff1d(ids, node_ids)
        if missing.size:
            raise TntpError(f"{node_path}: no coordinates for node(s) {missing[:5].tolist()}")
        ids = node_ids
    length_m = length * length_factor
    fft_s = fft * time_factor
    if (fft_s <= 0).any():
        i = int(np.flatnonzero(fft_s <= 0)[0])
        raise TntpLinkError(f"{net_path}: link {a[i]}->{b[i]} has free_flow_time {fft[i]:g}; "
                           "it must be positive")
    speed = length_m / fft_s
    order = np.argsort(ids)
    if x is None:
        x = np.zeros(ids.size)
        y = np.zeros(ids.size)
    elif np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90):
        x, y = project_lonlat(x, y, crs)
    idx = lambda v: order[np.searchsorted(ids[order], v)]  # noqa: E731
    lanes = np.maximum(1, np.ceil(cap / lane_capacity - 1e-9)).astype(int)
    return TntpNetwork(x, y, idx(a), idx(b), length_m, lanes, speed, cap, node_ids=ids,
                       source=str(net_path))


def read_tntp_nodes(path):
    ids, xs, ys = [], [], []
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise TntpError(f"cannot read {path}: {type(err).__name__}") from None
    for n, line in enumerate(text.splitlines()[1:], start=2):
        parts = line.replace(";", " ").split()
        if len(parts) >= 3:
            try:
                ids.append(int(parts[0]))
                xs.append(float(parts[1]))
                ys.append(float(parts[2]))
            except ValueError:
                raise TntpError(f"{path}, line {n}: cannot parse it as a node; expected "
                                    "node x y") from None
    return np.array(xs), np.array(ys), np.array(ids)


def project_lonlat(lon, lat, crs):
    from pyproj import Transformer

    if crs is None:
        zone = int((np.mean(lon) + 180) // 6) + 1
        crs = f"EPSG:{32600 + zone if np.mean(lat) >= 0 else 32700 + zone}"
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    return np.asarray(x), np.asarray(y)
