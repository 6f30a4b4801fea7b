"""A pixel transformer: causal self-attention over the raster sequence, the same autoregressive model."""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_image_size, check_positive_int
from ..incremental import CachedLayer
from .base import AutoregressiveModel, LikelihoodArg, _dropout


def _region_tokens(layer: CachedLayer, n: int, per_pixel: int) -> tuple[int, int, int]:
    """(first, end, L): the cached region's tokens [first, end) in the whole sequence of L, after
    checking that the layer got ``n`` of them, one per token of the region."""
    state = layer.cache
    first, end = state.raster_range(per_pixel)
    if n != end - first:
        raise ValueError(
            f"{type(layer).__name__} got {n} tokens for the region rows {state.rows}, cols {state.cols}, "
            f"which has {end - first}"
        )
    return first, end, state.height * state.width * per_pixel


class TokenShift(CachedLayer, nn.Module):
    """The transformer's mask A: slot t gets the embedding of token t-1 and slot 0 a learned start
    token, so that nothing computed at slot t has seen token t. (B, L, d) -> (B, L, d).

    While sampling with a cache the layer keeps every embedding so far in a buffer (the start token
    first, then token s at s + 1), writes the region's tokens into it and reads the region's slots
    back: a region's first slot gets the token before the region.
    """

    def __init__(self, hidden: int, tokens_per_pixel: int) -> None:
        super().__init__()
        self.start = nn.Parameter(0.02 * torch.randn(hidden))
        self.tokens_per_pixel = tokens_per_pixel

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.cache is not None:
            return self._forward_cached(tokens)
        return torch.cat([self.start.expand(tokens.shape[0], 1, -1), tokens[:, :-1]], dim=1)

    def _forward_cached(self, tokens: torch.Tensor) -> torch.Tensor:
        first, end, length = _region_tokens(self, tokens.shape[1], self.tokens_per_pixel)
        if self._buffer is None:
            self._buffer = tokens.new_zeros(tokens.shape[0], length + 1, tokens.shape[2])
            self._buffer[:, 0] = self.start
        self._buffer[:, first + 1 : end + 1] = tokens
        return self._buffer[:, first:end].clone()


class CausalSelfAttention(CachedLayer, nn.Module):
    """Multi-head self-attention in which slot t reads only slots s <= t. (B, L, d) -> (B, L, d).

    Per head, softmax(q k^T / sqrt(d_head) + mask) v (Vaswani et al. 2017, "Attention is all you
    need"), the mask -inf above the diagonal; ``F.scaled_dot_product_attention`` computes it.

    While sampling with a cache the layer keeps the keys and values of every slot of the image in a
    buffer: a region computes q, k, v for its own slots only, writes k and v at their slots (replacing
    what an earlier pass over the same pixel wrote, before that pixel's later channels were drawn) and
    attends over every slot before the region's end, causally inside the region.
    """

    def __init__(self, hidden: int, n_heads: int, dropout: float, tokens_per_pixel: int) -> None:
        super().__init__()
        self.n_heads, self.dropout, self.tokens_per_pixel = n_heads, dropout, tokens_per_pixel
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)

    def _heads(self, h: torch.Tensor) -> torch.Tensor:
        """(B, n, d) -> q, k, v stacked, (3, B, heads, n, d_head)."""
        b, n, d = h.shape
        return self.qkv(h).view(b, n, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        q, k, v = self._heads(h)
        if self.cache is None:
            mixed = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        else:
            mixed = self._attend_cached(q, k, v)
        return self.out(mixed.transpose(1, 2).flatten(2))  # heads side by side again: (B, n, d)

    def _attend_cached(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        first, end, length = _region_tokens(self, q.shape[2], self.tokens_per_pixel)
        if self._buffer is None:  # keys and values of every slot, (2, B, heads, L, d_head)
            self._buffer = k.new_zeros(2, *k.shape[:2], length, k.shape[3])
        self._buffer[:, :, :, first:end] = torch.stack([k, v])
        keys, values = self._buffer[:, :, :, :end]
        # query first + a reads every slot before the region and the region's slots up to its own
        allowed = torch.ones(end - first, end, dtype=torch.bool, device=q.device).tril(first)
        return F.scaled_dot_product_attention(q, keys, values, attn_mask=allowed)

    def weights(self, h: torch.Tensor) -> torch.Tensor:
        """The attention weights for the layer's input ``h`` (B, L, d): (B, heads, L, L), row t the
        softmax over slots s <= t (zero for s > t), as ``forward`` uses them (without dropout)."""
        q, k, _ = self._heads(h)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # q k^T / sqrt(d_head)
        future = torch.ones(scores.shape[-2:], dtype=torch.bool, device=h.device).triu(1)
        return scores.masked_fill(future, float("-inf")).softmax(-1)


class TransformerBlock(nn.Module):
    """A pre-norm block (GPT-2's): h + attention(LayerNorm(h)), then + MLP(LayerNorm(h)). (B, L, d) -> (B, L, d).

    LayerNorm normalises each token over its own d features, and the MLP (d -> 4d -> GELU -> d) works on
    each token alone, so only the attention moves information between slots, and only forward in time.
    """

    def __init__(self, hidden: int, n_heads: int, dropout: float, tokens_per_pixel: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.attention = CausalSelfAttention(hidden, n_heads, dropout, tokens_per_pixel)
        self.mlp = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU(), nn.Linear(4 * hidden, hidden))
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = h + self.drop(self.attention(self.norm1(h)))
        return h + self.drop(self.mlp(self.norm2(h)))


class PixelTransformer(AutoregressiveModel):
    """A decoder-only transformer over the image as a sequence of tokens in raster order (as in
    Parmar et al. 2018, "Image Transformer", and Chen et al. 2020, "Generative pretraining from pixels").

    Tokens: with a likelihood that scores each channel from its own parameters (``Categorical``, the
    uncoupled mixture), one token per sub-pixel, rows -> columns -> R, G, B, so L = H*W*C and token t
    predicts sub-pixel t from the sub-pixels before it. With a likelihood that couples the channels
    of a pixel (PixelCNN++'s mixture), one token per pixel holding all C values (L = H*W): each
    pixel's parameters come from earlier pixels only and the likelihood orders R, G, B inside it
    (:attr:`hides_current_pixel`). For one channel the two coincide.

    Embedding: a token's value enters through a linear map of its value(s) in [-1, 1], as the
    convolutional models read their input: two neighbouring levels get neighbouring embeddings, the
    size does not grow with ``levels``, and ``log_prob`` stays differentiable in ``x``, which the
    autograd causality tests need (a table indexed by the level would give no gradient). Slot t
    holds the value of token t-1 (:class:`TokenShift`, the start token at slot 0) plus where token t
    sits, learned row, column and channel tables added, plus a class embedding when ``n_classes`` is
    set. Then ``n_layers`` pre-norm blocks of causal self-attention and an MLP, a final LayerNorm,
    and a linear head giving each token's parameters, laid out as the likelihood expects: R's
    parameters, then G's, then B's (one token per sub-pixel), or the pixel's whole vector.

    Args:
        in_channels, levels, likelihood, n_classes: as :class:`PixelCNN`.
        hidden: features per token.
        n_layers: transformer blocks.
        n_heads: attention heads; ``hidden`` must be divisible by it.
        dropout: dropout on the embeddings, the attention weights and each block's two branches
            (training mode only).
        image_size: (H, W) of the largest image the position tables cover (an int n for n x n).
    """

    def __init__(
        self,
        in_channels: int = 1,
        levels: int = 256,
        *,
        hidden: int = 64,
        n_layers: int = 4,
        n_heads: int = 4,
        dropout: float = 0.0,
        image_size: int | Sequence[int] = (28, 28),
        n_classes: int | None = None,
        likelihood: LikelihoodArg = None,
    ) -> None:
        super().__init__(in_channels, levels, likelihood=likelihood, n_classes=n_classes)
        check_positive_int("hidden", hidden)
        check_positive_int("n_layers", n_layers)
        check_positive_int("n_heads", n_heads)
        if hidden % n_heads:
            raise ValueError(
                f"hidden must be divisible by n_heads (each head gets hidden / n_heads features), "
                f"got hidden={hidden} and n_heads={n_heads}"
            )
        dropout = _dropout(dropout)
        self.image_size = check_image_size(image_size, "image_size")
        self.hidden, self.n_layers, self.n_heads, self.dropout = hidden, n_layers, n_heads, dropout
        self.tokens_per_pixel = 1 if self.likelihood.couples_channels else in_channels
        per_token = self.likelihood.param_channels(in_channels) // self.tokens_per_pixel
        self.embed_value = nn.Linear(in_channels // self.tokens_per_pixel, hidden)
        self.shift = TokenShift(hidden, self.tokens_per_pixel)
        self.row, self.col = nn.Embedding(self.image_size[0], hidden), nn.Embedding(self.image_size[1], hidden)
        self.channel = nn.Embedding(self.tokens_per_pixel, hidden)
        for table in (self.row, self.col, self.channel):
            nn.init.normal_(table.weight, std=0.02)  # GPT-2's scale, not N(0, 1): the value must not drown
        self.class_embedding = None if n_classes is None else nn.Embedding(n_classes, hidden)
        if self.class_embedding is not None:
            nn.init.zeros_(self.class_embedding.weight)  # starts as its unconditional twin, as ClassBias does
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(TransformerBlock(hidden, n_heads, dropout, self.tokens_per_pixel) for _ in range(n_layers))
        self.norm = nn.LayerNorm(hidden)
        self.head = nn.Linear(hidden, per_token)

    @property
    def hides_current_pixel(self) -> bool:
        """One token per pixel: its parameters come from earlier pixels only."""
        return self.tokens_per_pixel == 1

    can_cache = True

    def check_image_size(self, size: tuple[int, int]) -> None:
        if size[0] > self.image_size[0] or size[1] > self.image_size[1]:
            needed = tuple(max(a, b) for a, b in zip(size, self.image_size))
            raise ValueError(
                f"PixelTransformer's position tables cover images up to {self.image_size}, got {tuple(size)}; "
                f"build it with image_size={needed} or larger"
            )

    def network(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        b, c, h, w = x.shape  # the whole image, or while sampling with a cache the current region
        per_pixel, state = self.tokens_per_pixel, self.cache_state
        width, first = (w, 0) if state is None else (state.width, state.raster_range(per_pixel)[0])
        values = x.permute(0, 2, 3, 1).reshape(b, h * w * per_pixel, c // per_pixel)  # raster order: rows, columns, channels
        tokens = self.shift(self.embed_value(values))  # slot t: the value of token t-1
        slot = torch.arange(first, first + tokens.shape[1], device=x.device)
        pixel = slot // per_pixel
        tokens = tokens + self.row(pixel // width) + self.col(pixel % width) + self.channel(slot % per_pixel)  # where token t sits
        if self.class_embedding is not None:
            tokens = tokens + self.class_embedding(y.long())[:, None]
        features = self.drop(tokens)
        for block in self.blocks:
            features = block(features)
        out = self.head(self.norm(features))  # (B, n, P / tokens per pixel): token t's parameters
        per_token = out.shape[-1]  # sizes spelled out: an empty batch (b = 0) leaves no -1 to infer
        return out.view(b, h, w, per_pixel, per_token).permute(0, 3, 4, 1, 2).reshape(b, per_pixel * per_token, h, w)  # R's, then G's, then B's

    def attention_weights(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Every layer's attention weights for images ``x`` (B, C, H, W) in [0, 1]:
        (n_layers, B, n_heads, L, L), row t the weights slot t gives to slots s <= t. Slot s holds
        token s-1 (slot 0 the start token). Call it in eval mode for the weights sampling uses."""
        inputs: list[torch.Tensor] = []

        def keep(module: nn.Module, args: tuple[torch.Tensor]) -> None:  # the input of each attention layer
            inputs.append(args[0])

        hooks = [block.attention.register_forward_pre_hook(keep) for block in self.blocks]
        try:
            self(x, y)
        finally:
            for hook in hooks:
                hook.remove()
        return torch.stack([block.attention.weights(h) for block, h in zip(self.blocks, inputs)])
