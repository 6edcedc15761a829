"""metrotwin's built-in models: flood, heat and mobility (each registered as an entry point)."""

# The kernels below import numba: metrotwin's package init must have pointed numba's cache
# away from these source folders first. Importing ``metrotwin.models`` always runs it; this
# line covers a direct import of these folders as ``models`` (from a source tree).
import metrotwin  # noqa: F401
