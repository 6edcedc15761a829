#!/usr/bin/env bash
# Fetch, HERE (a machine that reaches PyPI), the wheels that benchmarks/device_check.sh needs on
# the GPU machine, into .device-wheels/ (git-ignored, carried with the working tree).
#
# The GPU machine reaches no network. Its image's python3 (3.12) already holds numba, numba-cuda
# and the CUDA toolkit's wheels, numpy, scipy, xarray, h5py, pandas, PyYAML, matplotlib,
# networkx, tqdm: what metrotwin's flood runs import beyond those is fetched here, at the
# versions of this checkout's .venv, for CPython $PYVER on manylinux x86-64, without their
# dependencies (each one named). About 45 MiB, under the 64 MiB that a working tree may carry.
# The CUDA libraries themselves (numba-cuda[cu12]: ~1 GB with nvcc and NVRTC) cannot travel
# within that limit: the machine must bring them, as this image does.
#
# Usage: benchmarks/device_prepare.sh [python-version, default 3.12]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
pyver="${1:-3.12}"
dest="$repo/.device-wheels"
#: metrotwin's imports (flood_throughput.py, and `metrotwin run --no-report` for scaling.py)
#: that the GPU machine's image lacks; mpich brings mpiexec and libmpi for mpi4py
packages=(pydantic pydantic_core annotated-types typing-inspection netCDF4 cftime pyproj shapely
          SALib dill multiprocess Mesa Pint flexcache flexparser platformdirs typing_extensions
          mpich mpi4py)
freeze="$("$repo/.venv/bin/python" -m pip freeze 2>/dev/null)"
rm -rf "$dest" && mkdir -p "$dest"
for name in "${packages[@]}"; do
  pin="$(grep -i -E "^${name//[-_]/[-_]}==" <<<"$freeze" || true)"
  [ -n "$pin" ] || { echo "device_prepare: $name is not in $repo/.venv" >&2; exit 2; }
  before="$(ls "$dest" | wc -l)"
  "$repo/.venv/bin/python" -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version "$pyver" --implementation cp --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d "$dest" "$pin" 2>&1 | grep -v "is ignored" || true
  [ "$(ls "$dest" | wc -l)" -gt "$before" ] \
    || { echo "device_prepare: no wheel of $pin for CPython $pyver" >&2; exit 2; }
done
du -sh "$dest"
echo "carry .device-wheels with benchmarks/device_check.sh (see its header)"
