"""Critical facilities cut off by closed roads.

The critical facilities are the public buildings (``building_use`` 4: schools, hospitals,
town halls). A facility is *cut off* when the road node nearest its footprint centroid is
not in the main connected component of the network that is still open: the links not closed
at the member's flood peak, taken both ways (a closed road blocks both directions), and the
main component the one with the most nodes (ties: the one of the lowest node index), i.e.
where the rest of the city still is. A facility's own street may be dry and still lead only
to flooded roads: it is then cut off.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from metrotwin.results.risk import RiskInputError


def nearest_nodes(node_xy, points_xy) -> np.ndarray:
    """Index of the node (``(nodes, 2)`` x, y in m) nearest each point (``(points, 2)``)."""
    node_xy = np.asarray(node_xy, float).reshape(-1, 2)
    points = np.asarray(points_xy, float).reshape(-1, 2)
    if node_xy.shape[0] == 0:
        raise RiskInputError("the road network has no nodes; facilities cannot be placed on it")
    if points.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    return cKDTree(node_xy).query(points)[1].astype(np.int64)


def main_component(nodes: int, link_from, link_to, link_open) -> np.ndarray:
    """Whether each of ``nodes`` nodes is in the largest connected component of the graph of
    the open links (``link_open`` True per link), the links taken as undirected."""
    keep = np.asarray(link_open, bool)
    a = np.asarray(link_from, np.int64)[keep]
    b = np.asarray(link_to, np.int64)[keep]
    graph = coo_matrix((np.ones(a.size), (a, b)), shape=(nodes, nodes)).tocsr()
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    return labels == int(np.argmax(sizes))  # argmax: the first largest, labelled from node 0


def facilities_cut_off(facility_nodes, nodes: int, link_from, link_to, link_closed) -> np.ndarray:
    """True for each facility (its nearest node in ``facility_nodes``) with no open road
    path to the main component (see the module docstring)."""
    reached = main_component(nodes, link_from, link_to, ~np.asarray(link_closed, bool))
    return ~reached[np.asarray(facility_nodes, np.int64)]
