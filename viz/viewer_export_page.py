"""The standalone page's text: the HTML template, the vtk.js library and the page's script
(``metrotwin/viz/static/``), with a scene's JSON, joined into one file that loads nothing from
outside (it works from a file opened offline).

vtk.js is the upstream UMD bundle of the npm package ``vtk.js`` (BSD-3-Clause; version,
checksum and licence in ``static/NOTICE``). It is inlined, not linked: a page sent by mail has
no server and maybe no network.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

#: the markers of the template that ``page_html`` replaces
MARKERS = ("__METROTWIN_VTKJS__", "__METROTWIN_SCENE__", "__METROTWIN_PAGE_SCRIPT__")
#: text that would end or confuse an inline <script> element
_UNSAFE_IN_SCRIPT = re.compile(r"</?script", re.I)


@cache
def static_text(name: str) -> str:
    """A file of ``metrotwin/viz/static`` (UTF-8)."""
    return (files("metrotwin.viz") / "static" / name).read_text(encoding="utf-8")


def library_size() -> int:
    """Bytes (UTF-8) the inlined vtk.js and the page's own template and script take: the
    page's fixed cost, before any scene data."""
    names = ("vtk.js", "viewer_export.html", "viewer_export.js")
    return sum(len(static_text(n).encode("utf-8")) for n in names)


def page_html(scene_json: str) -> str:
    """The page with ``scene_json`` (JSON text with ``</`` escaped) as its scene."""
    parts = {
        MARKERS[0]: inline_script(static_text("vtk.js"), "vtk.js"),
        MARKERS[1]: scene_json,
        MARKERS[2]: inline_script(static_text("viewer_export.js"), "viewer_export.js"),
    }
    # one pass, so that no inserted text is searched for markers again
    return re.sub("|".join(MARKERS), lambda m: parts[m.group(0)], static_text("viewer_export.html"))


def inline_script(text: str, name: str) -> str:
    """``text`` for an inline <script> element; ValueError when it would end the element."""
    found = _UNSAFE_IN_SCRIPT.search(text)
    if found:
        # a vendored file changed upstream: inlining it would break the page's HTML
        raise ValueError(f"static/{name} contains {found.group(0)!r} at {found.start()}, "
                         "which would end the inline <script>: it cannot be inlined as it is")
    return text
