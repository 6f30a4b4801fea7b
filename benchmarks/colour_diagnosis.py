"""Where a 256-level coloured-digit model spends its bits, and why its samples may not be digits.

    python benchmarks/colour_diagnosis.py [--checkpoints gated_colored_mnist256 runs/other.pt ...] [--bounds -7 -8 -10]

For each class-conditional checkpoint of coloured digits at 256 levels, on held-out digits, each
scored given its label:

* background: how much probability the model gives the exact background level of a background
  sub-pixel (a sampler draws anything else with the rest, and the next pixels see the slip);
* ink onsets: in the R channel, how much probability the model gives "ink" (a level 16 or more away
  from the image's background) where a stroke really starts (no ink to the left or above), where a
  stroke continues, and on the background (where it becomes a speck in a sample);
* the label: how many bits the right label saves over a wrong one, and how often the model's own
  likelihood picks the right digit out of the ten;
* completions: the classifier's verdict on held-out digits (5 of each) whose top rows are kept and
  whose rest the model draws at temperature 1, given the label (can it carry a stroke on?);
* for a coupled logistic mixture: the coefficient that shifts G's mean by R's value, against the
  image's own ratio (fg_G - bg_G) / (fg_R - bg_R), which a model that infers the ink's colour from
  the ink above would follow; the log-scale of its heaviest component on the background; and the
  test bits/dim of the same weights under other lower bounds of the log-scale (``--bounds``), with
  nothing retrained.

Prints what it measured; it is not a test.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from pixelcnn_edu import data, likelihoods, sample_quality, sampling, train

INK = 16  # levels away from the background that count as ink


def score_per_label(model, x: torch.Tensor) -> torch.Tensor:
    """(B, 10) bits of each image under each of the ten labels."""
    with torch.no_grad():
        return torch.stack([model.log_prob(x, torch.full((len(x),), k)).sum((1, 2, 3)) for k in range(10)], 1) / math.log(2)


def onset_map(ink: torch.Tensor) -> torch.Tensor:
    """(B, H, W) True where ``ink`` is set and neither the pixel to the left nor the one above is."""
    left, above = torch.zeros_like(ink), torch.zeros_like(ink)
    left[:, :, 1:], above[:, 1:] = ink[:, :, :-1], ink[:, :-1]
    return ink & ~left & ~above


def diagnose(model, images: torch.Tensor, labels: torch.Tensor) -> None:
    levels = (images * 255).round().long()  # (B, 3, H, W)
    background_level = levels[:, :, :1, :1]  # the first pixel: these digits never touch the corner
    background = (levels == background_level).all(1, keepdim=True).expand_as(levels)
    with torch.no_grad():
        params = model(images, labels)
        log_p = model.likelihood.log_prob(params, images)
        red = model.likelihood.probs(params, x=images)[:, 0]  # (B, 256, H, W)
    p = log_p.exp()
    print(f"  background sub-pixels ({background.float().mean():.0%}): p(exact level) mean {p[background].mean():.3f}, "
          f"median {p[background].median():.3f}; {-log_p[background].mean() / math.log(2):.3f} bits each, "
          f"ink {-log_p[~background].mean() / math.log(2):.3f}")
    red_bg = background_level[:, 0]  # (B, 1, 1)
    ink = (levels[:, 0] - red_bg).abs() >= INK
    far = (torch.arange(256).view(1, 256, 1, 1) - red_bg[:, None]).abs() >= INK
    p_ink = (red * far).sum(1)  # (B, H, W)
    onsets = onset_map(ink)
    print(f"  P(ink) in R: at stroke onsets {p_ink[onsets].mean():.3f} ({onsets.float().sum((1, 2)).mean():.1f} per image), "
          f"continuing ink {p_ink[ink & ~onsets].mean():.3f}, background {p_ink[~ink].mean():.4f} "
          f"(expected ink pixels per image {p_ink.sum((1, 2)).mean():.1f}, real {ink.float().sum((1, 2)).mean():.1f})")
    bits = score_per_label(model, images)
    right = bits.gather(1, labels[:, None])[:, 0]
    wrong = (bits.sum(1) - right) / 9
    print(f"  label: worth {(right - wrong).mean():.1f} bits per image; the likelihood names the digit in "
          f"{(bits.argmax(1) == labels).float().mean():.0%}")
    mixture = model.likelihood
    if isinstance(mixture, likelihoods.DiscretizedLogisticMixture) and mixture.coupled:
        logits, _, log_scales, coeffs = mixture.split(params)
        weights = logits.softmax(2)[:, 0]  # (B, M, H, W)
        alpha = (weights * coeffs[:, 0]).sum(1)  # G's shift per unit of R, averaged over the components
        ink_any = (levels - background_level).abs().amax(1) >= 2 * INK
        brightest = levels.amax((2, 3))
        spread = (brightest - background_level[:, :, 0, 0]).float()
        ratio = spread[:, 1] / spread[:, 0].clamp(min=1)
        cells = []
        for low, high in ((0, 0.5), (0.5, 1), (1, 2), (2, math.inf)):
            chosen = (ratio >= low) & (ratio < high)
            if chosen.any():
                cells.append(f"[{low}, {high}): {alpha[chosen][ink_any[chosen]].mean():.2f} ({int(chosen.sum())} images)")
        print("  coefficient of R in G's mean on the ink, by the image's (fg_G - bg_G) / (fg_R - bg_R): " + "; ".join(cells))
        heaviest = weights.argmax(1, keepdim=True)[:, None].expand(-1, 3, 1, -1, -1)
        scale = log_scales.gather(2, heaviest)[:, :, 0][background]
        q = torch.quantile(scale, torch.tensor([0.05, 0.5, 0.95]))
        print(f"  log-scale of the heaviest component on the background: median {q[1]:.2f} (5-95%: {q[0]:.2f} to {q[2]:.2f}); "
              f"lower bound {mixture.log_scale_min}")


def completions(model, test: data.ImageDataset, rows: tuple[int, ...] = (7, 14), seed: int = 0) -> None:
    """Keep the top ``rows`` of 5 held-out digits of each class, draw the rest, and judge the results."""
    chosen = torch.cat([(test.labels == k).nonzero().flatten()[:5] for k in range(10)])
    images, labels = test.images[chosen], test.labels[chosen]
    classifier = sample_quality.load_classifier()
    verdicts = [f"real digits {sample_quality.judge(classifier, images, labels).asked_fraction:.0%}"]
    for kept in rows:
        known = torch.zeros(28, 28, dtype=torch.bool)
        known[:kept] = True
        drawn = sampling.complete(model, images, known, y=labels, generator=torch.Generator().manual_seed(seed))[:, 0]
        verdicts.append(f"top {kept} rows kept {sample_quality.judge(classifier, drawn, labels).asked_fraction:.0%}")
    print("  completions classified as the asked digit (50 digits, T = 1): " + ", ".join(verdicts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", nargs="*", default=["gated_colored_mnist256"], help="shipped names or .pt files")
    parser.add_argument("--n", type=int, default=100, help="held-out digits for the diagnosis (default 100; bits/dim use all 500)")
    parser.add_argument("--bounds", type=float, nargs="*", default=[-7.5, -8.0, -9.0, -10.0, -12.0],
                        help="lower log-scale bounds to re-score a mixture with")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not 1 <= args.n <= 500:
        parser.error(f"--n must be between 1 and 500 (the held-out digits), got {args.n}")
    torch.set_num_threads(args.threads)
    test = data.load_dataset(data.COLORED, "test", 256)
    every = torch.arange(0, len(test), max(1, len(test) // args.n))[: args.n]  # every k-th: all ten digits
    for name in args.checkpoints:
        path = Path(name) if name.endswith(".pt") else train.bundled_checkpoint(name)
        model, state = train.load_model(path)
        if model.n_classes is None or model.in_channels != 3 or model.levels != 256:
            raise SystemExit(f"{path.name}: needs a class-conditional model of coloured digits at 256 levels")
        print(f"{path.name}: {state['epoch']} epochs, test {train.evaluate(model, test):.4f} bits/dim given the digit, "
              f"{model.likelihood!r}")
        diagnose(model, test.images[every], test.labels[every])
        completions(model, test)
        trained = model.likelihood
        if isinstance(trained, likelihoods.DiscretizedLogisticMixture):
            for bound in args.bounds:
                model.likelihood = likelihoods.from_config({**trained.config(), "log_scale_min": bound})
                print(f"  re-scored with log_scale_min {bound}: test {train.evaluate(model, test):.4f} bits/dim")
            model.likelihood = trained


if __name__ == "__main__":
    main()
