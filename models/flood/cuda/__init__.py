"""The flood model's step on a CUDA GPU (numba.cuda): the kernels (``kernels.py``), the
solver that keeps the state on the device (``solver.CudaSolver``) and the halo exchange
staged through the host (``halo.py``). Tested on the CPU under numba's CUDA simulator."""
