"""Stationary Gaussian random fields on a regular grid by circulant embedding.

The covariance of the field on an ``ny x nx`` grid is embedded in a block-circulant matrix
on an ``my x mx`` torus (``m >= 2 n``, so that every lag within the grid is one the torus
holds exactly: no wrap-around); the torus's eigenvalues are the 2-D FFT of its first row.
Where they are all >= 0 the fields drawn are exactly Gaussian with the given covariance on
the grid (Dietrich & Newsam 1997, SIAM J. Sci. Comput. 18(4), 1088-1107, sec. 2; Wood & Chan
1994, J. Comput. Graph. Stat. 3(4), 409-432). A correlation length long against the grid can
give negative eigenvalues: the torus is padded by a few correlation lengths (``PADDING``) up
to ``MAX_EMBEDDING`` cells per axis, and what negative weight is left is set to 0 (the
approximate embedding of Dietrich & Newsam 1997, sec. 4), refused above ``MAX_CLIPPED`` of the
variance. One complex FFT gives two independent fields (its real and imaginary parts).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from metrotwin.errors import ScenarioError

#: torus padding beyond the grid, in correlation lengths: the correlation there is below
#: exp(-4) = 0.018 (exponential) or exp(-9) = 1.2e-4 (gaussian), small enough in practice for
#: the embedding to be positive definite (checked, not assumed)
PADDING = {"exponential": 4.0, "gaussian": 3.0}
#: most cells per torus axis beyond the minimal 2 n: one complex array of 3072^2 is 151 MB
MAX_EMBEDDING = 3072
#: largest share of the embedding's weight (= of the field's variance) that may be negative
MAX_CLIPPED = 0.01


def correlation(kind: str, lag: np.ndarray, length: float) -> np.ndarray:
    """Correlation (-) at ``lag`` (m) of the ``kind`` ('exponential' or 'gaussian') model with
    correlation length ``length`` (m)."""
    ratio = np.asarray(lag, dtype=float) / length
    return np.exp(-ratio) if kind == "exponential" else np.exp(-ratio * ratio)


def torus_size(n: int, length_cells: float, kind: str) -> int:
    """Cells along one axis of the torus for a grid of ``n`` cells and a correlation length of
    ``length_cells`` cells: at least 2 n, padded by PADDING correlation lengths, capped at
    MAX_EMBEDDING (unless 2 n is more), rounded up to a size the FFT does fast."""
    wanted = max(2 * n, n + math.ceil(PADDING[kind] * length_cells))
    return scipy.fft.next_fast_len(min(wanted, max(2 * n, MAX_EMBEDDING)), real=False)


def embedding_scale(shape: tuple[int, int], resolution: float, kind: str,
                    length: float) -> np.ndarray:
    """``sqrt(lambda / (my mx))`` on the torus for a grid of ``shape`` cells of ``resolution``
    (m): the factor turning complex white noise into two fields of correlation ``kind`` with
    correlation length ``length`` (m).

    ScenarioError if more than MAX_CLIPPED of the weight is negative (a correlation length too
    long for the domain to embed)."""
    torus = tuple(torus_size(n, length / resolution, kind) for n in shape)
    lags = [np.minimum(np.arange(m), m - np.arange(m)) * resolution for m in torus]
    first_row = correlation(kind, np.hypot(lags[0][:, None], lags[1][None, :]), length)
    eigenvalues = scipy.fft.fft2(first_row, workers=1).real  # real: first_row is even
    del first_row
    clipped = -eigenvalues[eigenvalues < 0].sum() / eigenvalues.sum()
    if clipped > MAX_CLIPPED:
        extent = max(shape) * resolution
        raise ScenarioError(
            f"hazards.design_storms.spatial.random_field.correlation_length = {length:g} m is too "
            f"long for the {kind} covariance on this {extent:g}-m domain: its circulant "
            f"embedding ({torus[0]} x {torus[1]} cells) is {100 * clipped:.2g} % non-positive "
            f"(at most {100 * MAX_CLIPPED:g} % allowed); give a shorter correlation_length (a "
            f"field correlated over more than the domain is nearly uniform on it)"
        )
    np.maximum(eigenvalues, 0.0, out=eigenvalues)
    eigenvalues /= eigenvalues.size
    return np.sqrt(eigenvalues, out=eigenvalues)


def gaussian_field_pair(scale: np.ndarray, shape: tuple[int, int],
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two independent standard Gaussian fields of ``shape`` (unit variance, the correlation
    ``scale`` came from), drawn from ``rng``: first the real, then the imaginary noise."""
    noise = np.empty(scale.shape, dtype=complex)
    noise.real = rng.standard_normal(scale.shape)
    noise.imag = rng.standard_normal(scale.shape)
    noise *= scale
    spectrum = scipy.fft.fft2(noise, overwrite_x=True, workers=1)
    ny, nx = shape
    window = spectrum[:ny, :nx]
    return window.real.copy(), window.imag.copy()
