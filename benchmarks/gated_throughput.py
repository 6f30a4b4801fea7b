"""Training throughput of GatedPixelCNN at ~850k parameters against a plain masked-convolution Gated PixelCNN.

    python benchmarks/gated_throughput.py [--threads 2] [--steps 10] [--repeats 5] [--kwargs '{"skips": false}'] [--mixed-precision]

The plain model is written here the way public tutorials write it (UvA's tutorial 12: full k x k
kernels multiplied by a mask, a 1x1 vertical-to-horizontal link, a residual 1x1, no skip
connections, an ELU and a 1x1 head; 64 maps and 7 gated layers = 852,160 parameters). Both train on
the embedded digits at 256 levels, batch 64, forward + backward + Adam; the two are timed in
alternation and the median images/s of ``--repeats`` rounds is printed with their ratio. Prints
what it measured; it is not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from pixelcnn_edu import data, likelihoods, models, recipe


class MaskedConv(nn.Conv2d):
    """A convolution with a fixed 0/1 mask on its kernel, "same" padding."""

    def __init__(self, c_in: int, c_out: int, mask: torch.Tensor, dilation: int = 1) -> None:
        kh, kw = mask.shape
        super().__init__(c_in, c_out, (kh, kw), padding=(dilation * (kh // 2), dilation * (kw // 2)), dilation=dilation)
        self.register_buffer("mask", mask[None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.weight * self.mask, self.bias)


def vertical_mask(k: int, centre: bool) -> torch.Tensor:
    mask = torch.ones(k, k)
    mask[k // 2 + 1 :] = 0
    if not centre:
        mask[k // 2] = 0
    return mask


def horizontal_mask(k: int, centre: bool) -> torch.Tensor:
    mask = torch.ones(1, k)
    mask[0, k // 2 + 1 :] = 0
    if not centre:
        mask[0, k // 2] = 0
    return mask


class PlainGatedLayer(nn.Module):
    def __init__(self, c: int, dilation: int) -> None:
        super().__init__()
        self.vertical = MaskedConv(c, 2 * c, vertical_mask(3, True), dilation)
        self.horizontal = MaskedConv(c, 2 * c, horizontal_mask(3, True), dilation)
        self.v_to_h = nn.Conv2d(2 * c, 2 * c, 1)
        self.h_out = nn.Conv2d(c, c, 1)

    def forward(self, v: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v_feat = self.vertical(v)
        a, b = v_feat.chunk(2, dim=1)
        v_out = torch.tanh(a) * torch.sigmoid(b)
        h_feat = self.horizontal(h) + self.v_to_h(v_feat)
        a, b = h_feat.chunk(2, dim=1)
        return v_out, h + self.h_out(torch.tanh(a) * torch.sigmoid(b))


class PlainGatedPixelCNN(nn.Module):
    """The plain baseline: grey images, 256-way softmax per pixel."""

    def __init__(self, hidden: int = 64, dilations: tuple[int, ...] = (1, 2, 1, 4, 1, 2, 1)) -> None:
        super().__init__()
        self.v_start = MaskedConv(1, hidden, vertical_mask(3, False))
        self.h_start = MaskedConv(1, hidden, horizontal_mask(3, False))
        self.layers = nn.ModuleList(PlainGatedLayer(hidden, d) for d in dilations)
        self.out = nn.Conv2d(hidden, 256, 1)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        z = 2 * x - 1
        v, h = self.v_start(z), self.h_start(z)  # strictly above / strictly left (the centres are masked)
        for layer in self.layers:
            v, h = layer(v, h)
        logits = self.out(F.elu(h))
        target = (x * 255).round().long()
        return -F.cross_entropy(logits, target[:, 0], reduction="none")[:, None]


def images_per_second(model: nn.Module, x: torch.Tensor, steps: int, mixed_precision: bool = False) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(steps):
        with recipe.mixed_precision("cpu", mixed_precision):
            log_p = model.log_prob(x)
        loss = likelihoods.bits_per_dim(log_p.float())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * x.shape[0] / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--mixed-precision", action="store_true", help="both models in bfloat16 under torch.autocast")
    parser.add_argument("--kwargs", type=json.loads, default={}, help="GatedPixelCNN arguments over hidden=64, n_layers=8")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = data.load_dataset(data.EMBEDDED, "train", levels=256).images[: args.batch_size]
    torch.manual_seed(0)
    kwargs = {"hidden": 64, "n_layers": 8, **args.kwargs}
    ours = models.GatedPixelCNN(in_channels=1, levels=256, **kwargs)
    plain = PlainGatedPixelCNN()
    shown = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    contenders = {f"GatedPixelCNN({shown})": ours, "plain masked convolutions (UvA-style, 64 x 7)": plain}
    for model in contenders.values():
        images_per_second(model, x, 2, args.mixed_precision)  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.repeats):
        for name, model in contenders.items():
            rates[name].append(images_per_second(model, x, args.steps, args.mixed_precision))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, 256 levels, "
          f"median of {args.repeats} rounds of {args.steps} steps" + (", mixed precision" if args.mixed_precision else ""))
    for name, model in contenders.items():
        params = sum(p.numel() for p in model.parameters())
        print(f"{name:48s} {params:9,d} params  {statistics.median(rates[name]):6.1f} images/s")
    names = list(contenders)
    ratio = statistics.median(rates[names[0]]) / statistics.median(rates[names[1]])
    print(f"throughput ratio GatedPixelCNN / plain: {ratio:.2f}")


if __name__ == "__main__":
    main()
