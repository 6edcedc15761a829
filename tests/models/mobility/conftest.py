import pytest


@pytest.fixture(scope="session")
def sioux_falls(refdata):
    """Sioux Falls as UXsim uses it (network + time-dependent demand, ~37k vehicles)."""
    from metrotwin.models.mobility.demand import trips_from_rows
    from metrotwin.models.mobility.demand import read_uxsim_csv

    folder = refdata / "mobility" / "SiouxFalls" / "uxsim_dynamic"
    if not folder.is_dir():
        pytest.skip(f"Sioux Falls (UXsim export) not found at {folder}")
    net, rows = read_uxsim_csv(folder)
    return net, trips_from_rows(net, rows)
