"""QR codes for printed documents: reportlab's encoder (``reportlab.graphics.barcode.qr``), with the mask chosen
by the standard's penalty rules computed in numpy.

reportlab's ``QRCode.make()`` lays the code out eight times and scores every mask in pure Python, which was half
of a slip's render time. Here reportlab lays it out once; the other seven masks are applied to the data modules in
numpy (with reportlab's own mask functions), scored in numpy, and reportlab lays out the winner.
The score is ISO/IEC 18004 §7.8.3 (N1 runs, N2 2×2 blocks, N3 finder-like 1:1:3:1:1 patterns, N4 dark balance),
so the chosen mask is as readable as the standard intends; any mask decodes, the penalty only avoids patterns that
confuse scanners.
"""
from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.barcode.qrencoder import QRUtil

# The Reed-Solomon generator polynomial depends only on the number of error-correction codewords, yet reportlab
# rebuilds it (dozens of polynomial multiplications) for every block of every code: a third of the encoding time.
# It is a pure function whose result reportlab only reads (QRPolynomial.mod builds new polynomials), so it is
# memoised once per process. tests/workstation/test_slip.py checks codes against the unmemoised original.
_ORIGINAL_EC_POLYNOMIAL = QRUtil.getErrorCorrectPolynomial
if not hasattr(_ORIGINAL_EC_POLYNOMIAL, "cache_info"):
    QRUtil.getErrorCorrectPolynomial = staticmethod(functools.lru_cache(maxsize=None)(_ORIGINAL_EC_POLYNOMIAL))

def _runs_penalty(a: np.ndarray) -> int:
    """N1 along rows: each run of ≥ 5 same-coloured modules scores 3 + (length − 5)."""
    rows, n = a.shape
    change = np.ones((rows, n + 1), dtype=bool)
    change[:, 1:n] = a[:, 1:] != a[:, :-1]
    lengths = np.diff(np.flatnonzero(change.ravel()))   # a row's end to the next row's start is a run of 1
    long = lengths[lengths >= 5]
    return int((long - 2).sum())


def _finder_penalty(a: np.ndarray) -> int:
    """N3 along rows: 1:1:3:1:1 (dark-light-dark×3-light-dark) with four light modules on one side; the quiet zone
    counts as light. Eleven-module windows compared as shifted whole-array ANDs (no ``np.pad``: it alone costs
    more than the rest)."""
    rows, n = a.shape
    p = np.zeros((rows, n + 8), dtype=bool)
    p[:, 4:n + 4] = a
    q = ~p
    w = n + 2
    core = p[:, 0:w] & q[:, 1:w + 1] & p[:, 2:w + 2] & p[:, 3:w + 3] & p[:, 4:w + 4] & q[:, 5:w + 5] & p[:, 6:w + 6]
    light4 = q[:, 0:n + 5] & q[:, 1:n + 6] & q[:, 2:n + 7] & q[:, 3:n + 8]
    after = np.count_nonzero(core[:, 0:n - 2] & light4[:, 7:n + 5])     # 1011101 then 0000
    before = np.count_nonzero(light4[:, 0:n - 2] & core[:, 4:n + 2])    # 0000 then 1011101
    return 40 * int(after + before)


def mask_penalty(matrix: np.ndarray) -> int:
    """The standard's penalty score of a laid-out code (lower is better)."""
    a = matrix.astype(bool)
    n1 = _runs_penalty(a) + _runs_penalty(a.T)
    tl = a[:-1, :-1]
    n2 = 3 * int(((tl == a[1:, :-1]) & (tl == a[:-1, 1:]) & (tl == a[1:, 1:])).sum())
    n3 = _finder_penalty(a) + _finder_penalty(a.T)
    dark_percent = 100.0 * a.mean()
    n4 = 10 * int(abs(dark_percent - 50) // 5)
    return n1 + n2 + n3 + n4


def _new_code(value: str, level: str) -> Any:
    qr = QrCodeWidget(value, barLevel=level).qr
    if qr.version is None:
        qr.version = qr.calculate_version()
    return qr


def masked_layouts(qr: Any) -> list[np.ndarray]:
    """The eight masked layouts reportlab scores (``makeImpl(True, mask)``: format information left light), built
    from one layout: the data modules are re-masked in numpy with reportlab's own mask functions."""
    qr.makeImpl(True, 0)                                   # function patterns, data under mask 0, dataCache
    base = np.array(qr.modules, dtype=bool)
    pos = np.array(qr.dataPosIterator(), dtype=np.intp)   # (col, row) in placement order
    cols, rows = pos[:, 0], pos[:, 1]
    bits = np.zeros(len(pos), dtype=bool)
    data_bits = list(qr.dataBitIterator(qr.dataCache))[:len(pos)]
    bits[:len(data_bits)] = data_bits
    i, j = np.indices(base.shape)
    layouts = []
    for mask in range(8):
        grid = base.copy()
        grid[rows, cols] = bits ^ np.asarray(QRUtil.getMask(mask)(i, j), dtype=bool)[rows, cols]
        layouts.append(grid)
    return layouts


def encode(value: str, *, level: str = "M") -> list[list[bool]]:
    """The module matrix (True = dark) of ``value`` at error-correction ``level`` (L, M, Q, H)."""
    qr = _new_code(value, level)
    scores = [mask_penalty(grid) for grid in masked_layouts(qr)]
    qr.makeImpl(False, scores.index(min(scores)))
    return [[bool(m) for m in row] for row in qr.modules]


_cache: dict[tuple[str, str], list[list[bool]]] = {}
_lock = threading.Lock()
CACHE_SIZE = 64


def qr_modules(value: str, *, level: str = "M") -> list[list[bool]]:
    """:func:`encode`, with the last few kept: the preview, the print and a re-print of one slip encode the same
    URL."""
    key = (value, level)
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    matrix = encode(value, level=level)
    with _lock:
        if len(_cache) >= CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = matrix
    return matrix
