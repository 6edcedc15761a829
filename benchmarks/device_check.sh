#!/usr/bin/env bash
# Issue 23's measurements on a GPU machine of 16 cores (the device tool's nvidia-h100-x1 or
# nvidia-h200), as one command of at most 10 minutes (each step has its own timeout; a run
# should take ~5), which leaves time to rerun it in a 15-minute lease:
#   0. the CUDA-vs-CPU agreement tests on the real GPU (pytest -k gpu);
#   1. flood_throughput.py --device cuda cpu --ranks 16 --sizes 1000 4000 8000: cell-updates/s
#      of the CUDA solver beside the CPU path on 16 ranks, one per core, and their ratio;
#   2. scaling.py --cases flood --modes weak --ranks 1 2 4 8 16: the weak-scaling efficiency
#      of the CPU path at each count.
# Results, under $OUT (or ./device-out): environment.txt, throughput.txt/.json,
# scaling.txt/.json; each step writes its own, so a step that times out keeps the others'.
#
# Which Python: the machine's image's python3 (3.12: numba, numba-cuda and the CUDA toolkit's
# wheels, numpy, scipy, xarray, h5py, pandas, PyYAML are in it), or $METROTWIN_PYTHON. The
# machine reaches no network and nothing is fetched there: the rest of metrotwin's runtime
# travels as wheels in .device-wheels/ (git-ignored; ~42 MiB of the 64 MiB a working tree may
# carry), fetched HERE beforehand by benchmarks/device_prepare.sh. This script unpacks them
# and metrotwin itself, offline (pip --no-index), into a prefix under /tmp. The CUDA libraries
# (numba-cuda[cu12] and the toolkit's wheels, ~1 GB) are too large to carry: the machine must
# hold them, as that image does; the cuda extra of pyproject.toml installs them elsewhere.
# Building metrotwin from the tree takes setuptools and wheel from that Python (the image has
# both). The device tool sends the checkout its session started in: prepare the wheels there.
#
# Here:   benchmarks/device_prepare.sh 3.12
# Then the device tool's run, in this repository's root:
#         command "bash benchmarks/device_check.sh", carry [".device-wheels"], timeout_s 560
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
out="${OUT:-$repo/device-out}"
mkdir -p "$out"
py="${METROTWIN_PYTHON:-python3}"
prefix=/tmp/metrotwin-prefix
export PYTHONUNBUFFERED=1 NUMBA_NUM_THREADS=1

step() {  # step SECONDS NAME COMMAND...: run with a timeout, output to $out/NAME.txt and here
  local seconds="$1" name="$2"
  shift 2
  echo "== $name (at most ${seconds} s): $*"
  timeout --kill-after=10 "$seconds" "$@" 2>&1 | tee "$out/$name.txt"
  local rc="${PIPESTATUS[0]}"
  [ "$rc" -eq 0 ] || echo "== $name: exit status $rc (124: timed out)" | tee -a "$out/$name.txt"
  return "$rc"
}

{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
  nproc
  "$py" -c 'import sys, numba, numpy; print(sys.version); print("numba", numba.__version__, "numpy", numpy.__version__)'
  "$py" -m pip show numba-cuda cuda-toolkit 2>/dev/null | grep -E "^(Name|Version)"
} >"$out/environment.txt" 2>&1
cat "$out/environment.txt"

if [ ! -d .device-wheels ]; then
  echo "device_check: no .device-wheels/ here: run benchmarks/device_prepare.sh first, carry it" >&2
  exit 2
fi
rm -rf "$prefix"
made=()  # what building metrotwin from the tree leaves in it, removed after (if new)
for d in build metrotwin.egg-info; do [ -e "$d" ] || made+=("$d"); done
step 60 install "$py" -m pip install --quiet --no-index --no-deps --no-build-isolation \
  --no-compile --prefix "$prefix" .device-wheels/*.whl "$repo"
rc=$?
for d in "${made[@]}"; do rm -rf "$d"; done
[ "$rc" -eq 0 ] || exit 2
site="$("$py" -c "import sysconfig; print(sysconfig.get_path('purelib', vars={'base': '$prefix', 'platbase': '$prefix'}))")"
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" PATH="$prefix/bin:$PATH"
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"  # mpich's libmpi
step 30 imports "$py" -c '
from numba import cuda
import metrotwin.cli, metrotwin.models.flood.device as d
from mpi4py import MPI
print("cuda available:", cuda.is_available(), "| flood CUDA solver:", d.CudaSolver is not None,
      d.CUDA_IMPORT_ERROR, "| MPI:", MPI.Get_library_version().splitlines()[0])' || exit 2

# first, is the GPU path right there: the simulator tests' cases run on the real GPU beside
# the CPU path (maximum depths within 1e-5 m, accounts; tests/models/flood/test_cuda_simulator.py)
step 90 gpu-tests "$py" -m pytest -q -p no:cacheprovider -o addopts="" \
  tests/models/flood/test_cuda_simulator.py -k gpu -rs

# the issue's figures; smaller ones for a trial on a machine without a GPU, e.g.
# DEVICES=cpu SIZES=200 RANKS=2 SCALING_RANKS="1 2" bash benchmarks/device_check.sh
launcher="$prefix/bin/mpiexec -bind-to core -n {n}"
step 220 throughput "$py" benchmarks/flood_throughput.py --device ${DEVICES:-cuda cpu} \
  --ranks "${RANKS:-16}" --sizes ${SIZES:-1000 4000 8000} --steps "${STEPS:-300}" --repeats 2 \
  --no-landlab --launcher "$launcher" --json "$out/throughput.json"
step 140 scaling "$py" benchmarks/scaling.py --cases flood --modes weak \
  --ranks ${SCALING_RANKS:-1 2 4 8 16} --repeats 2 --launcher "$launcher" --json "$out/scaling.json"
