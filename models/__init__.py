"""metrotwin's built-in models, each a package registered as an entry point (group
``metrotwin.models`` in pyproject.toml): ``flood/`` (local-inertial shallow water), ``heat/``
(shadows, surface energy balance, thermal comfort) and ``mobility/`` (agent-based traffic on
Mesa). In each, ``model.py`` holds the class that wires the model to the coupler, with its
``Params`` and its errors (``ModelError`` subclasses), and ``kernels.py`` the numba kernels,
plain functions on arrays. A model imports ``metrotwin.run`` and ``metrotwin.city``, never
another model or ``metrotwin.viz``."""

# The kernels below import numba: metrotwin's package init must have pointed numba's cache
# away from these source folders first. Importing ``metrotwin.models`` always runs it; this
# line covers a direct import of these folders as ``models`` (from a source tree).
import metrotwin  # noqa: F401
