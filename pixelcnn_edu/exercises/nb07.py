"""Checks for notebook 07, pixel transformers: the causal pairs of the shifted mask, where attention's
L^2 term overtakes the per-token work, and the size of the key/value cache.
"""

from __future__ import annotations

from typing import Any, Callable

from ._common import _describe, _number, _student_tensor, _unanswered, _verdict


def check_causal_pairs(fn: Callable[[int, int, int], Any] | None) -> bool:
    """Exercise 07.1: ``fn(channels, height, width)`` = the (token, earlier token) pairs that a pixel
    transformer with one token per sub-pixel lets through: L (L - 1) / 2 with L = C H W (the shifted
    causal mask, the transformer's mask A)."""
    if fn is None:
        return _unanswered("write causal_pairs(channels, height, width): the entries of the shifted mask that are 1.")
    if not callable(fn):
        return _verdict(False, f"expected a function causal_pairs(channels, height, width), got {_describe(fn)}.")
    for c, h, w in ((1, 28, 28), (3, 32, 32), (3, 5, 7), (2, 1, 9)):
        n = c * h * w
        expected = n * (n - 1) // 2
        got = _student_tensor(fn, (c, h, w), f"causal_pairs({c}, {h}, {w})")
        if isinstance(got, str):
            return _verdict(False, got)
        value = float(got) if got.numel() == 1 else None
        if value == expected:
            continue
        if value == n * (n + 1) // 2:
            return _verdict(False, "that keeps the diagonal, a token reading itself: the attention mask before the "
                                   "shift (mask B). After the shift token t reads only tokens s < t.")
        if value == n * n:
            return _verdict(False, "that is every pair: the causal mask keeps only the tokens before t.")
        pixels = h * w
        if c > 1 and value == pixels * (pixels - 1) // 2:
            return _verdict(False, f"with {c} channels there is one token per sub-pixel: L = C*H*W, not H*W.")
        if value == n * (n - 1):
            return _verdict(False, "each unordered pair is counted twice: token t reads s < t only, so halve it.")
        return _verdict(False, f"causal_pairs({c}, {h}, {w}) gave {_describe(got) if value is None else value}, "
                               f"expected {expected:,}.")
    return _verdict(True, "L(L-1)/2 pairs: every earlier token, so the work of attention grows with L squared.")


def check_crossover_length(answer: Any, hidden: int = 64) -> bool:
    """Exercise 07.2: the sequence length L at which one layer's attention term, 2 L^2 d multiply-adds
    (q k^T and the weighted sum of the values), equals the per-token work 12 L d^2 (the q, k, v and
    output projections, 4 d^2, and the MLP d -> 4d -> d, 8 d^2, for each of the L tokens): L = 6 d."""
    if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
        raise ValueError(f"hidden must be an int >= 1, got {hidden!r}")
    expected = 6 * hidden
    value = _number(answer, f"the length L where 2*L*L*d = 12*L*d*d, for d = {hidden}: a whole number.")
    if value is None:
        return False
    if value == expected:
        return _verdict(True, f"L = 6d = {expected}: beyond it the attention term grows fastest; MNIST's 784 and "
                              f"CIFAR-10's 3,072 tokens are well past it for small d.")
    if value == 12 * hidden:
        return _verdict(False, "attention has two L^2 products, q k^T and (weights) v, each L^2 d multiply-adds.")
    if value == 3 * hidden:
        return _verdict(False, "count the MLP too: d -> 4d -> d is 8 d^2 per token, plus 4 d^2 for the projections.")
    if value == 2 * hidden:
        return _verdict(False, "the per-token work includes the MLP (8 d^2), not only the projections (4 d^2).")
    if value == hidden * hidden:
        return _verdict(False, "solve 2 L^2 d = 12 L d^2 for L: divide both sides by 2 L d.")
    return _verdict(False, f"got {value:g}; set 2 L^2 d equal to 12 L d^2 with d = {hidden} and solve for L.")


def check_kv_cache_floats(fn: Callable[[int, int, int], Any] | None) -> bool:
    """Exercise 07.3: ``fn(n_layers, length, hidden)`` = the numbers the key/value cache holds for
    one image: every layer keeps a key and a value of d numbers (all heads together) per token,
    2 n_layers L d."""
    if fn is None:
        return _unanswered("write kv_cache_floats(n_layers, length, hidden): the numbers the cache keeps for one image.")
    if not callable(fn):
        return _verdict(False, f"expected a function kv_cache_floats(n_layers, length, hidden), got {_describe(fn)}.")
    for n_layers, length, d in ((3, 10, 8), (2, 784, 24), (4, 3072, 64), (1, 49, 16)):
        expected = 2 * n_layers * length * d
        got = _student_tensor(fn, (n_layers, length, d), f"kv_cache_floats({n_layers}, {length}, {d})")
        if isinstance(got, str):
            return _verdict(False, got)
        value = float(got) if got.numel() == 1 else None
        if value == expected:
            continue
        if value == n_layers * length * d:
            return _verdict(False, "the cache keeps the keys and the values: two vectors of d numbers per token.")
        if value == 2 * length * d and n_layers > 1:
            return _verdict(False, "every layer has its own attention and its own cache.")
        if value in (n_layers * length * length, 2 * n_layers * length * length):
            return _verdict(False, "the cache holds keys and values, not the L x L attention weights: those are "
                                   "recomputed for each new query.")
        if value == 3 * n_layers * length * d:
            return _verdict(False, "the queries are not kept: each is used once, by its own token.")
        return _verdict(False, f"kv_cache_floats({n_layers}, {length}, {d}) gave "
                               f"{_describe(got) if value is None else value}, expected {expected:,}.")
    return _verdict(True, "2 x layers x L x d: it grows with the sequence, unlike the convolutions' caches of a few rows.")
