"""A YAML loader for scenario files that refuses what ``yaml.safe_load`` lets through:

* a key given twice in one mapping (``safe_load`` silently keeps the last: ``resolution: 20``
  then ``resolution: 1`` is 400 times the cells); the error names both lines;
* aliases that expand to more than ``MAX_NODES`` nodes (a "billion laughs" file of a few
  hundred bytes refers to the same lists 10^9 times: validating or printing it would take
  minutes and gigabytes);
* an alias inside the value it names (a recursive value);
* a file larger than ``MAX_BYTES``.

The expanded size is counted on the composed node graph, each node once (memoised), so the
check itself costs time proportional to the file, not to its expansion.
"""

from __future__ import annotations

import yaml

from metrotwin.scenario.messages import short_repr

#: most nodes (scalars, lists, mappings) a scenario may hold once aliases are expanded; the
#: largest shipped scenario has a few hundred
MAX_NODES = 100_000
#: largest scenario file (bytes): scenarios are hand-written, their data lives in files
MAX_BYTES = 5_000_000


class YamlProblem(ValueError):
    """The YAML is well-formed but not acceptable as a scenario (message names the line)."""


class ScenarioLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that checks each document before constructing it."""

    def construct_document(self, node):
        check_node(node)
        return super().construct_document(node)


def check_node(root: yaml.Node) -> int:
    """The expanded size of ``root`` (nodes); raises YamlProblem for a duplicate key or a
    size above MAX_NODES."""
    sizes: dict[int, int] = {}
    # iterative post-order walk: a deep document must not hit Python's recursion limit
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    active: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            sizes[key] = 1 + sum(sizes.get(id(c), 0) for c in _children(node))
            if sizes[key] > MAX_NODES:
                raise YamlProblem(
                    f"line {node.start_mark.line + 1}: this value expands (through aliases) to "
                    f"more than {MAX_NODES} items; a scenario is far smaller: write the values "
                    f"out, or move bulk data to a file"
                )
            continue
        if key in active:  # between a node's two visits only its descendants are walked
            raise YamlProblem(
                f"line {node.start_mark.line + 1}: an alias refers to a value that contains it "
                f"(a recursive value); a scenario is a finite tree"
            )
        if key in sizes:
            continue  # an alias to a node already counted
        active.add(key)
        if isinstance(node, yaml.MappingNode):
            _check_duplicates(node)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node):
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return ()


def _check_duplicates(node: yaml.MappingNode) -> None:
    seen: dict[str, yaml.Node] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = key_node.value
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise YamlProblem(
                f"line {key_node.start_mark.line + 1}: key {short_repr(key, 60)} is given twice "
                f"in the same mapping (first at line {first}); keep one"
            )
        seen[key] = key_node


def load(text: str):
    """The document in ``text``, checked (see the module docstring)."""
    if len(text) > MAX_BYTES:
        raise YamlProblem(
            f"the file has {len(text)} characters; a scenario file is at most {MAX_BYTES} "
            f"(data belong in files the scenario names)"
        )
    return yaml.load(text, Loader=ScenarioLoader)  # noqa: S506 - a SafeLoader subclass
