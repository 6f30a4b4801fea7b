"""Sample quality you can measure: a small digit classifier judges generated digits.

Bits/dim says how well a model predicts real digits, not whether its samples look like digits. A
classifier trained once on the embedded training digits answers the second question: for a
class-conditional model, the fraction of samples classified as the digit they were asked for; for
any model, the fraction it names with confidence >= 0.9. It was also shown the training digits cut
into tiles and shuffled, strokes that form no digit, and taught to answer those with 1/10 for every
digit (:func:`train_classifier`), so a confident answer means "looks like a digit", not "has ink".
Colour images are compared after :func:`to_grey`, which also stretches each image to the full range
(coloured digits are bright strokes on a dark, non-black background). The trained weights ship with the
package (``classifier/digit_classifier.pt``); :func:`train_classifier` is the function that made them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import sampling
from .checks import check_positive_int, device_and_dtype
from .data import ImageDataset
from .progress import progress_bar

WEIGHTS = Path(str(resources.files("pixelcnn_edu") / "classifier" / "digit_classifier.pt"))  # shipped as package data


class DigitClassifier(nn.Module):
    """(B, 1, 28, 28) grey digits in [0, 1] -> (B, 10) logits: two conv-pool stages and a linear head."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 14 x 14
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 7 x 7
            nn.Dropout(0.25),
        )
        self.head = nn.Linear(2 * width * 49, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1:] != (1, 28, 28):
            raise ValueError(f"the digit classifier reads grey 28x28 images (B, 1, 28, 28), got shape {tuple(x.shape)}")
        return self.head(self.features(x).flatten(1))


def to_grey(images: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) in [0, 1] -> (B, 1, H, W): the channel mean, stretched per image to [0, 1]
    (a flat image stays 0)."""
    if images.dim() != 4:
        raise ValueError(f"images must have shape (B, C, H, W), got {tuple(images.shape)}")
    grey = images.float().mean(1, keepdim=True)
    low = grey.amin((2, 3), keepdim=True)
    span = grey.amax((2, 3), keepdim=True) - low
    return torch.where(span > 0, (grey - low) / span.clamp_min(1e-8), torch.zeros_like(grey))


def shuffle_tiles(images: torch.Tensor, generator: torch.Generator, tile: int = 7) -> torch.Tensor:
    """(B, 1, H, W) -> the same images cut into ``tile`` x ``tile`` squares put back in a random order,
    one order per image: pen strokes of the right width and amount that form no digit."""
    b, c, h, w = images.shape
    rows, cols = h // tile, w // tile
    tiles = images.reshape(b, c, rows, tile, cols, tile).permute(0, 2, 4, 1, 3, 5).reshape(b, rows * cols, c, tile, tile)
    order = torch.argsort(torch.rand(b, rows * cols, generator=generator), dim=1)
    tiles = tiles[torch.arange(b)[:, None], order]
    return tiles.reshape(b, rows, cols, c, tile, tile).permute(0, 3, 1, 4, 2, 5).reshape(b, c, h, w)


def train_classifier(
    train: ImageDataset,
    *,
    epochs: int = 14,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    outlier_weight: float = 0.1,
    progress: bool = True,
) -> DigitClassifier:
    """Train a :class:`DigitClassifier` on ``train`` (grey or colour; shifted by up to 2 pixels
    at random so it does not depend on perfect centring; half of each batch thresholded at 0.5, as
    binarised samples are).

    Outlier exposure (Hendrycks et al. 2019, "Deep anomaly detection with outlier exposure"): every batch
    also holds the same digits with their 7 x 7 tiles shuffled (:func:`shuffle_tiles`), and the loss,
    weighted by ``outlier_weight``, pulls their answer towards 1/10 for every digit. Without it the same
    network names scribbles of strokes with confidence >= 0.9 almost as often as a trained model's samples
    (docs/results.md, "Sample quality"), and its confidence cannot tell the two apart."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    classifier = DigitClassifier()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    images = to_grey(train.images)
    for _ in progress_bar(range(epochs), desc="classifier", enabled=progress):
        classifier.train()
        for idx in torch.randperm(len(train), generator=generator).split(batch_size):
            dy, dx = torch.randint(-2, 3, (2,), generator=generator).tolist()
            x = torch.roll(images[idx], (dy, dx), dims=(2, 3))
            binary = torch.rand(len(idx), 1, 1, 1, generator=generator) < 0.5
            x = torch.where(binary, (x > 0.5).float(), x)
            loss = F.cross_entropy(classifier(x), train.labels[idx])
            if outlier_weight > 0:
                loss = loss - outlier_weight * F.log_softmax(classifier(shuffle_tiles(x, generator)), dim=1).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return classifier.eval()


def load_classifier(path: str | Path = WEIGHTS) -> DigitClassifier:
    """The shipped classifier (eval mode, CPU)."""
    classifier = DigitClassifier()
    classifier.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return classifier.eval()


@torch.no_grad()
def classify(classifier: DigitClassifier, images: torch.Tensor) -> torch.Tensor:
    """Class probabilities (B, 10) for images (B, C, 28, 28) in [0, 1], grey or colour."""
    return F.softmax(classifier(to_grey(images.cpu())), dim=1)


CONFIDENT = 0.9  # a sample "named with confidence" gets at least this probability for the classifier's answer


def binomial_se(fraction: float, n: int) -> float:
    """Standard error of a fraction of ``n`` independent yes/no verdicts: sqrt(p (1 - p) / n)."""
    return math.sqrt(fraction * (1.0 - fraction) / n) if n else float("nan")


def fraction_text(fraction: float, n: int) -> str:
    """'42.0% ± 4.9%' for a fraction of ``n`` verdicts. At 0 or ``n`` of ``n`` the binomial standard
    error is 0, which claims a certainty ``n`` samples cannot give, so the exact one-sided 95% bound
    (Clopper-Pearson, 1 - 0.05^(1/n): about 3/n) is given instead: '0 of 100 (95% upper bound 3.0%)'."""
    count = round(fraction * n)
    if 0 < count < n:
        return f"{100 * fraction:.1f}% ± {100 * binomial_se(fraction, n):.1f}%"
    bound = 1.0 - 0.05 ** (1.0 / n)
    if count == 0:
        return f"0 of {n} (95% upper bound {100 * bound:.1f}%)"
    return f"{n} of {n} (95% lower bound {100 * (1.0 - bound):.1f}%)"


@dataclass
class SampleQuality:
    """How a classifier judges a batch of samples; each fraction comes with its binomial standard error."""

    asked_fraction: float | None  # samples classified as the digit they were asked for (None: unconditional)
    mean_confidence: float  # the classifier's mean probability of its own answer
    per_class: list[float] | None  # asked_fraction per asked digit
    n: int
    confident_fraction: float = float("nan")  # samples whose answer gets probability >= threshold
    threshold: float = CONFIDENT

    @property
    def asked_se(self) -> float | None:
        return None if self.asked_fraction is None else binomial_se(self.asked_fraction, self.n)

    @property
    def confident_se(self) -> float:
        return binomial_se(self.confident_fraction, self.n)

    def __str__(self) -> str:
        asked = "" if self.asked_fraction is None else (
            f"{fraction_text(self.asked_fraction, self.n)} classified as the asked digit, ")
        return (f"{asked}{fraction_text(self.confident_fraction, self.n)} named with confidence "
                f">= {self.threshold:g}, mean classifier confidence {self.mean_confidence:.3f} ({self.n} samples)")


def judge(
    classifier: DigitClassifier, images: torch.Tensor, asked: torch.Tensor | None = None, *, threshold: float = CONFIDENT
) -> SampleQuality:
    """Score ``images`` (B, C, 28, 28); ``asked`` (B,) the digit each was sampled for, if any;
    ``threshold`` the confidence that counts a sample as named with confidence."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    probs = classify(classifier, images)
    confidence, answer = probs.max(1)
    confident = (confidence >= threshold).float().mean().item()
    if asked is None:
        return SampleQuality(None, confidence.mean().item(), None, len(images), confident, threshold)
    asked = asked.cpu()
    if asked.shape != (len(images),):
        raise ValueError(f"asked must hold one digit per image, shape ({len(images)},), got {tuple(asked.shape)}")
    hits = (answer == asked).float()
    per_class = [hits[asked == k].mean().item() if (asked == k).any() else float("nan") for k in range(10)]
    return SampleQuality(hits.mean().item(), confidence.mean().item(), per_class, len(images), confident, threshold)


def sample_quality(
    model: torch.nn.Module,
    classifier: DigitClassifier | None = None,
    *,
    per_class: int = 10,
    temperature: float = 1.0,
    seed: int = 0,
    progress: bool = False,
) -> tuple[SampleQuality, torch.Tensor]:
    """Draw ``per_class`` samples of every digit (conditional models) or ``10 * per_class`` samples
    (unconditional ones) at 28 x 28 and judge them; returns (quality, samples)."""
    check_positive_int("per_class", per_class)
    classifier = load_classifier() if classifier is None else classifier
    device, _ = device_and_dtype(model)
    asked = torch.arange(10).repeat_interleave(per_class) if getattr(model, "n_classes", None) else None
    generator = torch.Generator(device=device).manual_seed(seed)
    y = None if asked is None else asked.to(device)
    samples = sampling.sample(model, 10 * per_class, (28, 28), y=y, temperature=temperature, generator=generator, progress=progress)
    return judge(classifier, samples, asked), samples
