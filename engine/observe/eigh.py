"""Eigen-decomposition of the small symmetric matrices of the LETKF's cells, without
allocation: Householder reduction to tridiagonal form and the QL method with implicit shifts
(EISPACK tred2/tql2, Wilkinson & Reinsch 1971, Handbook for Automatic Computation II, as in
JAMA's EigenvalueDecomposition). Plain numba functions on arrays."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def symmetric_eigh(a, vectors, values, e, n):
    """Eigenvalues (``values``) and eigenvectors (columns of ``vectors``) of the symmetric
    n x n top-left block of ``a``. No allocation (``e``: work array of n), for the small
    matrices of one cell; eigenvalues in no particular order."""
    for i in range(n):
        for j in range(n):
            vectors[i, j] = a[i, j]
    _householder(vectors, values, e, n)
    _accumulate(vectors, values, e, n)
    _implicit_ql(vectors, values, e, n)


@njit(cache=True)
def _householder(v, d, e, n):
    """tred2, first half: reduce the symmetric ``v`` to tridiagonal form (diagonal in ``d``,
    sub-diagonal in ``e``), keeping the Householder vectors in ``v``."""
    for j in range(n):
        d[j] = v[n - 1, j]
    for i in range(n - 1, 0, -1):  # tred2: Householder to tridiagonal
        scale = 0.0
        h = 0.0
        for k in range(i):
            scale += abs(d[k])
        if scale == 0.0:
            e[i] = d[i - 1]
            for j in range(i):
                d[j] = v[i - 1, j]
                v[i, j] = 0.0
                v[j, i] = 0.0
        else:
            for k in range(i):
                d[k] /= scale
                h += d[k] * d[k]
            f = d[i - 1]
            g = np.sqrt(h)
            if f > 0:
                g = -g
            e[i] = scale * g
            h = h - f * g
            d[i - 1] = f - g
            for j in range(i):
                e[j] = 0.0
            for j in range(i):
                f = d[j]
                v[j, i] = f
                g = e[j] + v[j, j] * f
                for k in range(j + 1, i):
                    g += v[k, j] * d[k]
                    e[k] += v[k, j] * f
                e[j] = g
            f = 0.0
            for j in range(i):
                e[j] /= h
                f += e[j] * d[j]
            hh = f / (h + h)
            for j in range(i):
                e[j] -= hh * d[j]
            for j in range(i):
                f = d[j]
                g = e[j]
                for k in range(j, i):
                    v[k, j] -= f * e[k] + g * d[k]
                d[j] = v[i - 1, j]
                v[i, j] = 0.0
        d[i] = h

@njit(cache=True)
def _accumulate(v, d, e, n):
    """tred2, second half: the orthogonal transformation of the reduction, in ``v``."""
    for i in range(n - 1):  # accumulate the transformations
        v[n - 1, i] = v[i, i]
        v[i, i] = 1.0
        h = d[i + 1]
        if h != 0.0:
            for k in range(i + 1):
                d[k] = v[k, i + 1] / h
            for j in range(i + 1):
                g = 0.0
                for k in range(i + 1):
                    g += v[k, i + 1] * v[k, j]
                for k in range(i + 1):
                    v[k, j] -= g * d[k]
        for k in range(i + 1):
            v[k, i + 1] = 0.0
    for j in range(n):
        d[j] = v[n - 1, j]
        v[n - 1, j] = 0.0
    v[n - 1, n - 1] = 1.0
    e[0] = 0.0

@njit(cache=True)
def _implicit_ql(v, d, e, n):
    """tql2: eigenvalues of the tridiagonal (``d``, ``e``) into ``d`` and the eigenvectors,
    by rotating ``v``, with QL iterations with implicit shifts."""
    for i in range(1, n):  # tql2: QL with implicit shifts on the tridiagonal matrix
        e[i - 1] = e[i]
    e[n - 1] = 0.0
    f = 0.0
    tst1 = 0.0
    eps = 2.0**-52
    for l in range(n):
        tst1 = max(tst1, abs(d[l]) + abs(e[l]))
        m = l
        while m < n - 1 and abs(e[m]) > eps * tst1:
            m += 1
        if m > l:
            for _iteration in range(60):
                g = d[l]
                p = (d[l + 1] - g) / (2.0 * e[l])
                r = np.hypot(p, 1.0)
                if p < 0:
                    r = -r
                d[l] = e[l] / (p + r)
                d[l + 1] = e[l] * (p + r)
                dl1 = d[l + 1]
                h = g - d[l]
                for i in range(l + 2, n):
                    d[i] -= h
                f += h
                p = d[m]
                c = 1.0
                c2 = c
                c3 = c
                el1 = e[l + 1]
                s = 0.0
                s2 = 0.0
                for i in range(m - 1, l - 1, -1):
                    c3 = c2
                    c2 = c
                    s2 = s
                    g = c * e[i]
                    h = c * p
                    r = np.hypot(p, e[i])
                    e[i + 1] = s * r
                    s = e[i] / r
                    c = p / r
                    p = c * d[i] - s * g
                    d[i + 1] = h + s * (c * g + s * d[i])
                    for k in range(n):
                        h = v[k, i + 1]
                        v[k, i + 1] = s * v[k, i] + c * h
                        v[k, i] = c * v[k, i] - s * h
                p = -s * s2 * c3 * el1 * e[l] / dl1
                e[l] = s * p
                d[l] = c * p
                if abs(e[l]) <= eps * tst1:
                    break
        d[l] = d[l] + f
        e[l] = 0.0
