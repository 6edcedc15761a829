"""Bad input: clear errors (nothing run) or warnings that name the problem."""

import numpy as np
import pytest

from metrotwin.errors import ModelError
from metrotwin.models.mobility import MobilityModel
from metrotwin.models.mobility.demand import DemandError, Trips, read_tntp_trips, trips_from_rows
from metrotwin.models.mobility.network import MobilityError, Network, NetworkError, read_tntp_network
from metrotwin.models.mobility.simulation import TrafficSim


def net(**over):
    kw = dict(node_x=[0.0, 100.0, 200.0], node_y=[0.0, 0.0, 0.0], link_from=[0, 1],
              link_to=[1, 2], length=[100.0, 100.0], lanes=[1, 1], free_speed=[10.0, 10.0],
              capacity=[1800.0, 1800.0])
    kw.update(over)
    return Network(**kw)


@pytest.mark.parametrize("field", ["capacity", "length", "free_speed"])
def test_zero_capacity_or_length_is_refused(field):
    with pytest.raises(NetworkError, match=f"link #1 .*{field} 0"):
        net(**{field: [10.0, 0.0]})


def test_od_pair_to_a_missing_node_is_refused():
    with pytest.raises(MobilityError, match="destination node 7 does not exist"):
        trips_from_rows(net(), np.array([[0, 7, 0.0, 60.0, 0.1]]))


def test_the_mobility_error_is_a_model_error():
    """Like every model's (issue 17): the runner names the failing model by its ModelError."""
    with pytest.raises(ModelError, match="destination node 7 does not exist"):
        trips_from_rows(net(), np.array([[0, 7, 0.0, 60.0, 0.1]]))


def test_demand_file_whose_totals_do_not_parse(tmp_path):
    path = tmp_path / "bad_trips.tntp"
    path.write_text("<NUMBER OF ZONES> 2\n<TOTAL OD FLOW> lots\n<END OF METADATA>\nOrigin 1\n"
                    "2 : 5.0;\n")
    with pytest.raises(DemandError, match="TOTAL OD FLOW.*'lots' is not a number"):
        read_tntp_trips(path)
    path.write_text("<TOTAL OD FLOW> 10\n<END OF METADATA>\nOrigin 1\n2 : 5.0;\n")
    with pytest.raises(DemandError, match="sum to 5, but .* says 10"):
        read_tntp_trips(path)


def test_tntp_reader_matches_the_uxsim_export(refdata):
    """Sioux Falls: the TNTP files parse (76 links, 360,600 trips over 528 OD pairs) and the
    UXsim export's demand uses exactly the TNTP matrix's OD pairs."""
    folder = refdata / "mobility" / "SiouxFalls"
    network = read_tntp_network(folder / "SiouxFalls_net.tntp", folder / "SiouxFalls_node.tntp")
    assert network.n_links == 76 and network.n_nodes == 24
    o, d, vol = read_tntp_trips(folder / "SiouxFalls_trips.tntp")
    assert vol.sum() == pytest.approx(360600.0)
    from metrotwin.models.mobility.demand import read_od_csv

    rows = read_od_csv(folder / "uxsim_dynamic" / "demand.csv")
    tntp = {(a, b) for a, b, v in zip(o, d, vol) if v > 0}
    assert len(tntp) == 528
    assert {(int(r[0]), int(r[1])) for r in rows} == tntp


def test_disconnected_network_warns_with_the_pairs():
    n = net(link_from=[0, 2], link_to=[1, 1])  # nothing leaves node 1
    with pytest.warns(UserWarning, match=r"disconnected: 1 OD pair.*1->2"):
        sim = TrafficSim(n, Trips([1, 0], [2, 1], [0.0, 0.0]))
    sim.advance(60.0)
    c = sim.counts()
    assert c["stranded"] == 1 and c["arrived"] == 1


@pytest.mark.parametrize("params, message", [
    ({"sample_fraction": 0}, "sample_fraction"),
    ({"demand": "od"}, "needs 'od'"),
    ({"mode_shares": [{"max_km": 1, "walk": 0.8, "bike": 0.5}]}, "at most 1"),
    ({"tntp_trips": "/nonexistent/trips.tntp", "demand": "tntp"}, "file not found"),
    ({"speling": 1}, "extra"),
])
def test_bad_parameters_are_refused_before_any_work(params, message):
    with pytest.raises(ValueError, match=message):
        MobilityModel.Params(**params)
