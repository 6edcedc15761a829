"""Property-based: mutated scenarios either load, or fail with one clear ScenarioError that
names a field — never another exception. Through the CLI: exit status 2, no traceback, nothing
written."""

from __future__ import annotations

import copy
import io
from contextlib import redirect_stderr

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrotwin.cli import main
from metrotwin.errors import ScenarioError
from metrotwin.scenario.scenario import demo_scenario_path, read_yaml
from metrotwin.run.scenario import parse_scenario

BASE = read_yaml(demo_scenario_path())

junk = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
    st.text(max_size=12), st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(["-5 min", "10 min", "PT1H", "2026-13-45", "EPSG:4326", "nope.tif", "", "1e400"]),
)  # fmt: skip


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


PATHS = [p for p in _paths(BASE) if p]


@st.composite
def mutated(draw):
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        node = data
        try:
            for key in path[:-1]:
                node = node[key]
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                node[path[-1]] = draw(junk)
            elif action == "delete" and isinstance(node, dict):
                del node[path[-1]]
            elif isinstance(node, dict):
                node[draw(st.text(min_size=1, max_size=8))] = draw(junk)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation removed or replaced this branch
    return data


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_loader_accepts_or_explains(data):
    try:
        parse_scenario(data, source="fuzz.yaml")
    except ScenarioError as err:
        message = str(err)
        assert message.startswith("fuzz.yaml: ") and len(message) > len("fuzz.yaml: ") + 5
        assert "Traceback" not in message


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_cli_validate_exit_status(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    err = io.StringIO()
    with redirect_stderr(err):
        code = main(["validate", str(path)])
    assert code in (0, 2)
    if code == 2:
        assert err.getvalue().startswith("metrotwin: error: ") and "Traceback" not in err.getvalue()
    assert [p.name for p in folder.iterdir()] == ["s.yaml"]
