"""numba kernels of the mobility model: the queue-based traffic step, walkers and cyclists,
routing tables, and the grid/link exchanges (flood along links, traffic heat onto cells).

Only ``@njit(cache=True)`` functions on plain arrays (numpy and numba only). The traffic
kernels take their arrays in named groups (``Links``, ``Queues``, ``Cars``, ...: namedtuples,
which numba compiles to plain structs of arrays), so that a call cannot pass one array for
another by its position. Units in parentheses. The traffic model is the mesoscopic queue model of MATSim's QSim (Gawron 1998,
doi:10.1142/S0129183198000261; Cetin, Burri & Nagel 2003, "A large-scale agent-based traffic
microsimulation based on queue model", STRC): each link is a FIFO queue that a vehicle can
leave no earlier than its free-speed travel time after entering it, no faster than the link's
flow capacity, and only into a downstream link with free storage (spillback).

Status codes of a trip (``status_at_trip``): 0 scheduled / waiting at its origin, 2 on the
network, 3 arrived, 4 stranded, 5 stopped (a walker waiting for flood water to recede).
Reasons (``reason_at_trip``): 0 none, 1 no route (every path closed), 2 caught on a link
that flooded, 3 flood hazard to people (walkers, cyclists), 4 origin and destination not
connected at the start.
"""

from collections import namedtuple

import numpy as np
from numba import njit

SCHEDULED, ON_LINK, ARRIVED, STRANDED, STOPPED = 0, 2, 3, 4, 5
NO_REASON, NO_ROUTE, FLOODED_LINK, FLOOD_HAZARD, UNREACHABLE = 0, 1, 2, 3, 4

#: why a trip was stranded, by the code the kernels write
REASONS = {1: "no_route", 2: "flooded_link", 3: "flood_hazard"}

#: the links as the queue model sees them: downstream node, length (m), speed (m/s), flow
#: and entry capacity (veh/s), storage (veh) and the closed flag (int8)
Links = namedtuple("Links", "to length speed capacity entry_capacity storage closed")
#: the routing tables (version, destination row, node) -> next link, the row of each
#: destination node, and the Router's state [n_versions, newest, epoch, seed, weight]
Routes = namedtuple("Routes", "next_link dest_row state")
#: the link queues, ring buffers in one array (CSR ``start``) with head and count, and the
#: capacity tokens banked for leaving and entering each link (veh)
Queues = namedtuple("Queues", "start buf head count out_tokens in_tokens")
#: one row per car trip: origin and destination node, departure (s), status and reason
#: codes, link (-1 off the network), times it entered the link and may leave it (s),
#: arrival (s) and distance driven (m)
Cars = namedtuple("Cars", "origin dest depart status link enter ready arrive distance reason")
#: the cars by origin node in departure order (CSR ``start``, ``trip``) and, per node, the
#: position of the next one to depart
Departures = namedtuple("Departures", "start trip next")
#: per link: vehicles that entered and left, and the link-seconds of those that left (s)
LinkCounts = namedtuple("LinkCounts", "entries exits time_on_link")
#: one row per walker or cyclist: departure (s), speed (m/s), status and reason codes,
#: distance along the path (m) and arrival (s)
Travellers = namedtuple("Travellers", "depart speed status position arrive reason")
#: the fixed paths of the travellers (CSR ``start``): link ids and the distance (m) from the
#: origin to the end of each
Paths = namedtuple("Paths", "start link end")
#: the grid cells each link crosses (CSR: ``start`` per link, entries in ``index``)
LinkCellsCSR = namedtuple("LinkCellsCSR", "start index")
#: what the travellers meet: flood hazard rating per link (1), the rating that stops them,
#: UTCI at each cell (degree_C, flat, or empty) and the exposure thresholds (degree_C)
Conditions = namedtuple("Conditions", "hazard hazard_limit utci thresholds")
#: exposure of each traveller: minutes above each threshold, degree-minutes above the
#: first (K min), minutes outdoors
Exposure = namedtuple("Exposure", "minutes_above degree_minutes outdoor_minutes")


@njit(cache=True)
def unit_hash(seed, a, b):
    """A uniform number in [0, 1) from three integers (splitmix64 finaliser): random choices
    that depend on the trip's id, not on the order in which arrays are laid out."""
    z = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
    z ^= np.uint64(a) + np.uint64(0x632BE59BD9B4E019)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= np.uint64(b) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return float(z >> np.uint64(11)) / 9007199254740992.0


@njit(cache=True)
def next_link_from_dist(dist, link_from, link_to, cost_at_link, out):
    """For each destination row and node, the outgoing link on a shortest path: the link
    ``l`` from the node minimising ``cost_at_link[l] + dist[row, link_to[l]]`` (ties: lower
    link id). ``dist`` (rows, nodes) holds the cost from each node to the row's destination;
    ``out`` (rows, nodes) gets -1 where the destination cannot be reached."""
    n_rows, n_nodes = dist.shape
    best = np.empty(n_nodes)
    for r in range(n_rows):
        best[:] = np.inf
        out[r, :] = -1
        for l in range(link_from.size):
            c = cost_at_link[l]
            if not np.isfinite(c):
                continue
            total = c + dist[r, link_to[l]]
            a = link_from[l]
            if total < best[a]:
                best[a] = total
                out[r, a] = l


# The helpers below take plain arrays, never the groups, and are inlined: numba takes a new
# reference to each array it reads out of a tuple, and that atomic reference counting made
# the kernels 1.2 to 14 times slower when helpers took groups (per step or per trip). So the
# kernels unpack their groups once per call.


@njit(cache=True)
def _route_choice(route_state):
    """The Router's ``state`` array [n_versions, newest, epoch, seed, weight] as a typed
    tuple (n_versions, newest, epoch, seed, weight), read once per kernel call."""
    return (int(route_state[0]), int(route_state[1]), int(route_state[2]),
            int(route_state[3]), route_state[4])


@njit(cache=True)
def _choose_next(v, node, dest, next_link, dest_row, choice, closed):
    """The link trip ``v`` (destination node ``dest[v]``) takes next from ``node``: it
    follows one of the recent routing tables, the newest with probability ``weight``, the
    one before with ``weight (1 - weight)``, ... (a discrete version of UXsim's DUO
    route-preference averaging); a closed link is never chosen. ``choice`` is
    ``_route_choice(routes.state)``."""
    n_versions, newest, epoch, seed, weight = choice
    row = dest_row[dest[v]]
    if row < 0:
        return -1
    k = 0
    if n_versions > 1 and weight < 1.0:
        u = unit_hash(seed, v, epoch)
        p = weight
        cum = weight
        while u > cum and k < n_versions - 1:
            k += 1
            p *= 1.0 - weight
            cum += p
    h = (newest - k) % next_link.shape[0]
    nl = next_link[h, row, node]
    if nl < 0 or closed[nl] != 0:
        nl = next_link[newest, row, node]
        if nl >= 0 and closed[nl] != 0:
            nl = -1
    return nl


@njit(cache=True, inline="always")
def _has_room(nl, count, storage, in_tokens):
    """Whether link ``nl`` has a free place (storage) and an entry token for one more car."""
    eps = 1e-9
    return not (count[nl] + 1 > storage[nl] + eps or in_tokens[nl] < 1.0 - eps)


@njit(cache=True, inline="always")
def _push(l, v, start, buf, head, count):
    """Trip ``v`` joins the tail of link ``l``'s ring buffer."""
    cap = start[l + 1] - start[l]
    buf[start[l] + (head[l] + count[l]) % cap] = v
    count[l] += 1


@njit(cache=True, inline="always")
def _pop(l, start, head, count):
    """The head of link ``l``'s ring buffer leaves it."""
    cap = start[l + 1] - start[l]
    head[l] = (head[l] + 1) % cap
    count[l] -= 1


@njit(cache=True, inline="always")
def _join(v, nl, in_tokens, start, buf, head, count, entries):
    """Trip ``v`` joins the queue of link ``nl``, spending an entry token."""
    in_tokens[nl] -= 1.0
    _push(nl, v, start, buf, head, count)
    entries[nl] += 1


@njit(cache=True, inline="always")
def _board(v, nl, when, status, link, enter, ready, length, speed):
    """Trip ``v`` is on link ``nl`` from ``when`` (s); it may leave at its free-speed exit
    time."""
    status[v] = ON_LINK
    link[v] = nl
    enter[v] = when
    ready[v] = when + length[nl] / speed[nl]


@njit(cache=True, inline="always")
def _end_trip(v, code, why, when, status, reason, arrive, link):
    """Trip ``v`` arrives or is stranded (status ``code``, reason ``why``) at ``when`` (s),
    off the network."""
    status[v] = code
    if why != NO_REASON:
        reason[v] = why
    arrive[v] = when
    link[v] = -1


@njit(cache=True, inline="always")
def _bank_capacity(dt, capacity, entry_capacity, out_tokens, in_tokens, blocked):
    """Start of a step: each link gains ``capacity * dt`` tokens (veh) to leave and
    ``entry_capacity * dt`` to enter; the fractions carry over and an idle link banks at
    most one vehicle more. No link is blocked yet."""
    for l in range(capacity.size):
        blocked[l] = False
        cap = capacity[l] * dt
        out_tokens[l] = min(out_tokens[l] + cap, cap + 1.0)
        cap = entry_capacity[l] * dt
        in_tokens[l] = min(in_tokens[l] + cap, cap + 1.0)


@njit(cache=True, inline="always")
def _ready_heads(te, start, buf, head, count, ready, blocked, cand, key_t, key_v):
    """The links whose head trip may leave before ``te`` (s), unless blocked, in the
    order they move: first-ready first, ties by trip id. Fills ``cand`` (link), ``key_t``
    (ready time) and ``key_v`` (trip) and returns (their number, the order)."""
    nc = 0
    for l in range(count.size):
        if count[l] == 0 or blocked[l]:
            continue
        v = buf[start[l] + head[l]]
        if ready[v] < te:
            cand[nc] = l
            key_t[nc] = ready[v]
            key_v[nc] = v
            nc += 1
    if nc == 0:
        return 0, cand[:0]
    order = np.argsort(key_v[:nc], kind="mergesort")
    return nc, order[np.argsort(key_t[:nc][order], kind="mergesort")]


@njit(cache=True)
def advance_queues(t_start, n_steps, dt, links, routes, queues, cars, departures, counts):
    """Advance the car traffic by ``n_steps`` steps of ``dt`` (s) from ``t_start`` (s).

    The arguments are the named groups of this module (``Links``, ``Routes``, ``Queues``,
    ``Cars``, ``Departures``, ``LinkCounts``), unpacked once here (see the note above the
    helpers); the arrays of all but ``links`` and ``routes`` are updated in place.

    In each step [t, t + dt): links gain flow capacity ``capacity * dt`` (veh) for leaving
    and ``entry_capacity * dt`` for entering (both veh/s; the fractions carry over, an idle
    link banks at most one vehicle more). First the trips due to depart enter their first
    link in departure order at each origin node (as UXsim generates vehicles before
    transferring them at nodes). Then the heads of the link queues whose free-speed exit
    time falls in the step move, first-ready first (ties by trip id), in passes until
    nothing moves: a trip at its destination arrives; others take the next link of their
    route if it has a free place (``count < storage``) and entry capacity, otherwise the
    link stays blocked until the next step (spillback).

    Times are continuous: a trip leaves at max(its free-speed exit time, t), so on an
    uncongested route the travel time is exactly the sum of length / speed.
    ``counts.time_on_link`` accumulates the link-seconds of the trips that left each link
    (s).
    """
    link_to, length, speed, capacity, entry_capacity, storage, closed = links
    next_link, dest_row, route_state = routes
    start, buf, head, count, out_tokens, in_tokens = queues
    _, dest, depart, status, link, enter, ready, arrive, distance, reason = cars
    d_start, d_trip, d_next = departures
    entries, exits, time_on_link = counts
    choice = _route_choice(route_state)
    n_links = link_to.size
    blocked = np.zeros(n_links, np.bool_)
    cand = np.empty(n_links, np.int64)
    key_t = np.empty(n_links)
    key_v = np.empty(n_links, np.int64)
    for step in range(n_steps):
        t = t_start + step * dt
        te = t + dt
        _bank_capacity(dt, capacity, entry_capacity, out_tokens, in_tokens, blocked)
        # -- departures at the origins, in departure order (ties by trip id)
        for n in range(d_next.size):
            while d_next[n] < d_start[n + 1]:
                v = d_trip[d_next[n]]
                if status[v] != SCHEDULED:
                    d_next[n] += 1
                    continue
                if depart[v] >= te:
                    break
                when = depart[v] if depart[v] > t else t
                nl = -2 if dest[v] == n else _choose_next(v, n, dest, next_link, dest_row,
                                                           choice, closed)
                if nl >= 0 and not _has_room(nl, count, storage, in_tokens):
                    break  # the origin waits for the next step
                if nl == -2:
                    _end_trip(v, ARRIVED, NO_REASON, when, status, reason, arrive, link)
                elif nl == -1:
                    _end_trip(v, STRANDED, NO_ROUTE, when, status, reason, arrive, link)
                else:
                    _join(v, nl, in_tokens, start, buf, head, count, entries)
                    _board(v, nl, when, status, link, enter, ready, length, speed)
                d_next[n] += 1
        # -- moves at the downstream ends of the links, in passes until nothing moves
        moved = 1
        while moved > 0:
            nc, order = _ready_heads(te, start, buf, head, count, ready, blocked, cand, key_t,
                                     key_v)
            moved = 0
            for i in range(nc):
                l = cand[order[i]]
                v = key_v[order[i]]
                node = link_to[l]
                when = ready[v] if ready[v] > t else t
                if dest[v] == node:
                    nl = -2
                else:
                    if out_tokens[l] < 1.0 - 1e-9:
                        blocked[l] = True
                        continue
                    nl = _choose_next(v, node, dest, next_link, dest_row, choice, closed)
                    if nl >= 0 and not _has_room(nl, count, storage, in_tokens):
                        blocked[l] = True
                        continue
                _pop(l, start, head, count)
                exits[l] += 1
                time_on_link[l] += when - enter[v]
                distance[v] += length[l]
                moved += 1
                if nl == -2:
                    _end_trip(v, ARRIVED, NO_REASON, when, status, reason, arrive, link)
                elif nl == -1:
                    _end_trip(v, STRANDED, NO_ROUTE, when, status, reason, arrive, link)
                else:
                    out_tokens[l] -= 1.0
                    _join(v, nl, in_tokens, start, buf, head, count, entries)
                    _board(v, nl, when, status, link, enter, ready, length, speed)


@njit(cache=True)
def strand_on_links(where, when, queues, cars):
    """Strand every trip on the links flagged in ``where`` (a road that has just closed
    under water) at ``when`` (s), emptying their queues; returns the number stranded."""
    start, buf, head, count, _, _ = queues
    n = 0
    for l in range(where.size):
        if not where[l]:
            continue
        cap = start[l + 1] - start[l]
        for i in range(count[l]):
            v = buf[start[l] + (head[l] + i) % cap]
            _end_trip(v, STRANDED, FLOODED_LINK, when, cars.status, cars.reason, cars.arrive,
                      cars.link)
            n += 1
        count[l] = 0
        head[l] = 0
    return n


@njit(cache=True)
def advance_active(t_start, n_steps, dt, travellers, paths, length_at_link, cells, conditions,
                   exposure):
    """Walkers and cyclists: advance along their fixed paths at their own speed (m/s),
    stopping before any link whose flood hazard rating reaches ``conditions.hazard_limit``
    (and going on when it falls below), and accumulate heat exposure while outdoors.

    The arguments are the named groups of this module (``Travellers``, ``Paths``,
    ``LinkCellsCSR``, ``Conditions``, ``Exposure``) and the link lengths (m);
    ``travellers`` and ``exposure`` are updated in place. ``paths.end`` is the distance (m)
    from the origin to the end of each path link. UTCI (degree_C, flat grid, or empty) is
    sampled at the cell under the traveller at the middle of its outdoor time in each step
    (``_exposure_cell``); ``minutes_above[:, k]`` counts minutes above ``thresholds[k]``
    and ``degree_minutes`` the integral of max(0, UTCI - thresholds[0]) (K min). Exposure
    metrics as in Bröde et al. 2012 (UTCI categories, doi:10.1007/s00484-011-0454-1):
    32 degC strong, 38 degC very strong heat stress.
    """
    depart_at_trip, speed_at_trip, status_at_trip, position_at_trip, arrive_at_trip, \
        reason_at_trip = travellers
    path_start, path_link, path_end = paths
    cell_start, cell_index = cells
    hazard_at_link, hazard_limit, utci, thresholds = conditions
    minutes_above, degree_minutes, outdoor_minutes = exposure
    has_utci = utci.size > 0
    for step in range(n_steps):
        t = t_start + step * dt
        te = t + dt
        for v in range(depart_at_trip.size):
            s = status_at_trip[v]
            if s == ARRIVED or s == STRANDED:
                continue
            if s == SCHEDULED:
                if depart_at_trip[v] >= te:
                    continue
                status_at_trip[v] = ON_LINK
                s = ON_LINK
            t0 = depart_at_trip[v] if depart_at_trip[v] > t else t
            p0 = path_start[v]
            p1 = path_start[v + 1]
            total = path_end[p1 - 1] if p1 > p0 else 0.0
            pos = position_at_trip[v]
            # the path link under the traveller
            k = p0
            while k < p1 - 1 and path_end[k] <= pos:
                k += 1
            t_out = te
            if s == STOPPED:
                if hazard_at_link[path_link[k]] < hazard_limit:
                    status_at_trip[v] = ON_LINK
                    reason_at_trip[v] = 0
                    s = ON_LINK
            if s == ON_LINK:
                new = pos + speed_at_trip[v] * (te - t0)
                j = k
                stop = False
                while j < p1:
                    start_j = path_end[j - 1] if j > p0 else 0.0
                    if start_j >= new:
                        break
                    if hazard_at_link[path_link[j]] >= hazard_limit:
                        new = max(pos, start_j)
                        stop = True
                        break
                    j += 1
                if stop:
                    status_at_trip[v] = STOPPED
                    reason_at_trip[v] = FLOOD_HAZARD
                    position_at_trip[v] = new
                elif new >= total:
                    arr = t0 + (total - pos) / speed_at_trip[v]
                    arrive_at_trip[v] = arr
                    status_at_trip[v] = ARRIVED
                    position_at_trip[v] = total
                    t_out = arr
                else:
                    position_at_trip[v] = new
            minutes = (t_out - t0) / 60.0
            if minutes <= 0.0:
                continue
            outdoor_minutes[v] += minutes
            if not has_utci or p1 == p0:
                continue
            c = _exposure_cell(0.5 * (pos + position_at_trip[v]), p0, p1, path_link, path_end,
                               length_at_link, cell_start, cell_index)
            value = utci[c] if c >= 0 else np.nan
            if not np.isfinite(value):
                continue
            for q in range(thresholds.size):
                if value > thresholds[q]:
                    minutes_above[v, q] += minutes
            if value > thresholds[0]:
                degree_minutes[v] += (value - thresholds[0]) * minutes


@njit(cache=True, inline="always")
def _exposure_cell(mid, p0, p1, path_link, path_end, length_at_link, cell_start, cell_index):
    """The cell (flat index into the UTCI field) at distance ``mid`` (m) along the path
    entries [p0, p1) of a traveller, or -1 where its link crosses no cell."""
    j = p0
    while j < p1 - 1 and path_end[j] <= mid:
        j += 1
    l = path_link[j]
    start_j = path_end[j - 1] if j > p0 else 0.0
    frac = (mid - start_j) / length_at_link[l] if length_at_link[l] > 0 else 0.0
    nc = cell_start[l + 1] - cell_start[l]
    if nc == 0:
        return -1
    c = int(frac * nc)
    c = min(max(c, 0), nc - 1)
    return cell_index[cell_start[l] + c]


@njit(cache=True)
def hazard_rating_at_link(depth, speed, cell_start, cell_index, debris_depth):
    """The largest flood hazard rating HR = d (v + 0.5) + DF over each link's cells, with d
    the depth (m), v the speed (m/s) and the debris factor DF = 1 where d > ``debris_depth``
    (urban land), else 0 (Defra/EA FD2320 Technical Report 2, HR Wallingford 2006, eq. 3.1
    and the debris-factor table)."""
    n = cell_start.size - 1
    out = np.zeros(n)
    for l in range(n):
        m = 0.0
        for i in range(cell_start[l], cell_start[l + 1]):
            c = cell_index[i]
            d = depth[c]
            if d > 0.0:
                hr = d * (speed[c] + 0.5) + (1.0 if d > debris_depth else 0.0)
                if hr > m:
                    m = hr
        out[l] = m
    return out


@njit(cache=True)
def spread_on_cells(value_at_link, cell_start, cell_index, cell_area, out):
    """Add each link's power (W) to the cells it crosses, in equal shares, as a flux
    (W m-2) onto the flat grid ``out``."""
    for l in range(value_at_link.size):
        nc = cell_start[l + 1] - cell_start[l]
        if nc == 0 or value_at_link[l] == 0.0:
            continue
        share = value_at_link[l] / (nc * cell_area)
        for i in range(cell_start[l], cell_start[l + 1]):
            out[cell_index[i]] += share


@njit(cache=True)
def departures_from_flow(t_start, t_end, flow, dt):
    """Departure times (s) of a constant flow (veh/s) over [t_start, t_end): the flow is
    accumulated step by step and a vehicle leaves at the start of each step in which the
    sum reaches one (UXsim's ``adddemand`` rule, float for float, so both load the same
    vehicles)."""
    k0 = int(t_start / dt)
    k1 = int(t_end / dt)
    n_max = int(flow * dt * (k1 - k0) + 2.0)
    out = np.empty(max(n_max, 0))
    n = 0
    f = 0.0
    for k in range(k0, k1):
        f += flow * dt
        while f >= 1.0:
            if n == out.size:
                grown = np.empty(2 * out.size + 1)
                grown[:n] = out[:n]
                out = grown
            out[n] = k * dt
            n += 1
            f -= 1.0
    return out[:n]


@njit(cache=True)
def speed_in_flood(depth_at_link, free_speed_at_link, closed_depth, out):
    """Link speed (m/s) under flood water of depth (m) by the depth-disruption function of
    Pregnolato et al. 2017, their fitted curve (doi:10.1016/j.trd.2017.06.020):
    v = 0.0009 w^2 - 0.5529 w + 86.9448 (km/h, w the depth in mm), never above the link's
    free speed; 0 from ``closed_depth`` (0.3 m in the paper). Returns nothing."""
    for l in range(depth_at_link.size):
        d = depth_at_link[l]
        if not d > 0.0:
            out[l] = free_speed_at_link[l]
        elif d >= closed_depth:
            out[l] = 0.0
        else:
            w = d * 1000.0
            v = (0.0009 * w * w - 0.5529 * w + 86.9448) / 3.6
            out[l] = min(free_speed_at_link[l], v)
