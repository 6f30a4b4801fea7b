"""Worked solutions to notebook 07's exercises (pixel transformers), for teachers."""

from __future__ import annotations


def exercise_1(channels: int, height: int, width: int) -> int:
    """The (token, earlier token) pairs the shifted causal mask lets through.

    One token per sub-pixel: L = C H W tokens in raster order. After the shift, token t reads the
    tokens s < t: t of them, so 0 + 1 + ... + (L - 1) = L (L - 1) / 2 pairs. (The attention mask
    itself, over slots, keeps the diagonal as well, L (L + 1) / 2: that is the transformer's mask B.)
    For a grey 28x28 digit, 784 * 783 / 2 = 306,936.
    """
    length = channels * height * width
    return length * (length - 1) // 2


def exercise_2() -> float:
    """Attention's share of one layer's multiply-adds for d = 64 (the package's default width) on a
    28x28 digit, L = 784.

    Per layer and image, q k^T is L^2 d multiply-adds (L x L scores, d per dot product, summed over the
    heads) and the weighted sum of the values another L^2 d; the q, k, v and output projections are
    4 L d^2 and the MLP (d -> 4d -> d) 8 L d^2. The share is 2 L^2 d / (2 L^2 d + 12 L d^2); dividing by
    2 L d leaves L / (L + 6 d) = 784 / 1168 = 0.671. The notebook's narrow transformer (d = 24) spends
    more, L / (L + 144) = 0.84 of a block: attention grows like d, the per-token work like d^2, so a
    wider model spends a smaller share on attention at the same L (and reaches the half-way point,
    L = 6 d, at a longer sequence).
    """
    length, hidden = 784, 64
    return length / (length + 6 * hidden)


def exercise_3(n_layers: int, length: int, hidden: int) -> int:
    """The numbers a full key/value cache keeps for one image.

    Every layer stores, for each of the L tokens, its key and its value: d numbers each (the heads side
    by side, d / n_heads per head). Queries are used once and dropped, and the attention weights are
    recomputed for each new query. So 2 n_layers L d; for the notebook's model on MNIST,
    2 * 2 * 784 * 24 = 75,264 numbers per image.
    """
    return 2 * n_layers * length * hidden
