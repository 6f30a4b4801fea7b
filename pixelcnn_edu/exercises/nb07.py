"""Checks for notebook 07, pixel transformers: the causal pairs of the shifted mask, attention's share
of a layer's work (a prediction checked by a FLOP count), and the size of the key/value cache.
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
        return _verdict(False, f"causal_pairs({c}, {h}, {w}) gave {_describe(got) if value is None else f'{value:,.0f}'}. "
                               "Hint: with L tokens in a row, count how many tokens token t may read, then add "
                               "these counts up over t = 0, ..., L - 1.")
    return _verdict(True, "L(L-1)/2 pairs: every earlier token, so the work of attention grows with L squared.")


def _attention_share_counted(hidden: int, length: int) -> float:
    """The share of one TransformerBlock's multiply-adds spent in attention (the two L x L products),
    counted by PyTorch's FLOP counter on the explicit ("math") attention for one sequence of ``length``."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from ..models.transformer import TransformerBlock

    block = TransformerBlock(hidden, 4 if hidden % 4 == 0 else 1, 0.0, 1).eval()
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, torch.no_grad():
        block(torch.zeros(1, length, hidden))
    counts = {str(op): flops for op, flops in counter.get_flop_counts()["Global"].items()}
    return counts["aten.bmm"] / sum(counts.values())


def check_attention_share(answer: Any, hidden: int = 64, length: int = 784) -> bool:
    """Exercise 07.2: a prediction. Which fraction of one layer's multiply-adds is attention for width
    ``hidden`` (d) and ``length`` (L)? Attention's two L x L products cost 2 L^2 d, the projections and
    the MLP 12 L d^2, so the share is 2 L^2 d / (2 L^2 d + 12 L d^2) = L / (L + 6 d). A right answer
    (within 0.02) is then checked against PyTorch's FLOP counter on a real block."""
    if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
        raise ValueError(f"hidden must be an int >= 1, got {hidden!r}")
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be an int >= 1, got {length!r}")
    value = _number(answer, f"predict the fraction of one layer's work that is attention, for d = {hidden} and L = {length}.",
                    "a number")
    if value is None:
        return False
    share = length / (length + 6 * hidden)
    if abs(value - share) <= 0.02:
        counted = _attention_share_counted(hidden, length)
        return _verdict(True, f"L / (L + 6d) = {share:.3f}; PyTorch's FLOP counter on a block of width {hidden} at L = {length} "
                              f"measures {counted:.3f}. A wider model spends a smaller share on attention at the same L.")
    if 1 < value <= 100:
        return _verdict(False, f"{value:g} looks like a percentage: give the share as a fraction between 0 and 1.")
    if not 0 <= value <= 1:
        return _verdict(False, f"{value:g} is not a share: it lies between 0 and 1.")
    if abs(value - length / (length + 12 * hidden)) <= 0.02:
        return _verdict(False, f"{value:g} counts one L x L product; attention has two, q k^T and (weights) v, each L^2 d.")
    if hidden != 24 and abs(value - length / (length + 6 * 24)) <= 0.005:
        return _verdict(False, f"{value:g} is the share for d = 24, the notebook's transformer; this asks for d = {hidden}. "
                               "What happens to attention's share when d grows?")
    if abs(value - length / (length + 2 * hidden)) <= 0.02:
        return _verdict(False, f"{value:g} leaves out the MLP: d -> 4d -> d is 8 d^2 per token, on top of the 4 d^2 of the projections.")
    if value >= 0.84:
        return _verdict(False, f"{value:g} is too high. The per-token work grows like d^2, attention like d: "
                               "what happens to attention's share when d grows?")
    return _verdict(False, f"{value:g} is not it. Write both terms for one layer, divide one by their sum, and cancel L d.")


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
                               f"{_describe(got) if value is None else f'{value:,.0f}'}. Hint: list what one layer keeps "
                               "for one earlier token, how many numbers each piece has, then multiply by the tokens and the layers.")
    return _verdict(True, "2 x layers x L x d: it grows with the sequence, unlike the convolutions' caches of a few rows.")
