"""The digit classifier that judges samples: it recognises real digits (grey, binarised and
coloured), and the scores it gives count what they say they count."""

from __future__ import annotations

import pytest
import torch

from pixelcnn_edu import data, models, sample_quality


@pytest.fixture(scope="module")
def classifier() -> sample_quality.DigitClassifier:
    return sample_quality.load_classifier()


@pytest.mark.parametrize("kind", ["grey", "binarised", "coloured"])
def test_the_shipped_classifier_recognises_held_out_digits(classifier, kind: str) -> None:
    held_out = data.load_dataset(data.COLORED if kind == "coloured" else data.EMBEDDED, "test", 256)
    images = data.binarize(held_out.images) if kind == "binarised" else held_out.images
    quality = sample_quality.judge(classifier, images, held_out.labels)
    assert quality.asked_fraction > 0.9 and quality.n == 500
    assert min(quality.per_class) > 0.75


def test_noise_gets_low_confidence_and_few_hits(classifier) -> None:
    noise = torch.rand(200, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    quality = sample_quality.judge(classifier, noise, torch.arange(10).repeat(20))
    assert quality.asked_fraction < 0.35


def test_strokes_that_form_no_digit_are_not_named_with_confidence(classifier) -> None:
    """The defect: the classifier named 37% of tile-shuffled test digits (and 28% of a 3-epoch
    PixelCNN's scribbles) with confidence >= 0.9, so confidence could not tell strokes from digits."""
    held_out = data.load_dataset(data.EMBEDDED, "test", 256)
    shuffled = sample_quality.shuffle_tiles(held_out.images, torch.Generator().manual_seed(123))
    assert sample_quality.judge(classifier, shuffled).confident_fraction < 0.05
    assert sample_quality.judge(classifier, held_out.images).confident_fraction > 0.8


def test_shuffle_tiles_moves_whole_tiles_and_keeps_every_pixel() -> None:
    images = torch.arange(2 * 28 * 28, dtype=torch.float32).reshape(2, 1, 28, 28)
    shuffled = sample_quality.shuffle_tiles(images, torch.Generator().manual_seed(0))
    for b in range(2):
        tiles = {tuple(images[b, 0, 7 * r:7 * r + 7, 7 * c:7 * c + 7].flatten().tolist()) for r in range(4) for c in range(4)}
        moved = {tuple(shuffled[b, 0, 7 * r:7 * r + 7, 7 * c:7 * c + 7].flatten().tolist()) for r in range(4) for c in range(4)}
        assert moved == tiles
    assert not torch.equal(shuffled, images)


def test_to_grey_stretches_each_image_and_keeps_flat_ones_at_zero() -> None:
    x = torch.stack([torch.full((3, 2, 2), 0.4), torch.tensor([0.2, 0.6]).repeat(3, 2, 1)])
    grey = sample_quality.to_grey(x)
    assert grey.shape == (2, 1, 2, 2)
    assert torch.equal(grey[0], torch.zeros(1, 2, 2)) and torch.equal(grey[1, 0, 0], torch.tensor([0.0, 1.0]))


def test_judge_counts_hits_per_asked_digit() -> None:
    class Fixed(torch.nn.Module):  # answers 3 for every image
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.one_hot(torch.full((len(x),), 3), 10).float() * 5

    quality = sample_quality.judge(Fixed(), torch.rand(4, 1, 28, 28), torch.tensor([3, 3, 1, 2]))
    assert quality.asked_fraction == 0.5 and quality.per_class[3] == 1.0 and quality.per_class[1] == 0.0
    assert quality.mean_confidence == pytest.approx(torch.softmax(torch.tensor([5.0] + [0.0] * 9), 0)[0].item())
    with pytest.raises(ValueError, match="one digit per image"):
        sample_quality.judge(Fixed(), torch.rand(4, 1, 28, 28), torch.tensor([3]))


def test_the_classifier_refuses_other_shapes(classifier) -> None:
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        classifier(torch.rand(2, 1, 8, 8))


def test_sample_quality_asks_every_digit_of_a_conditional_model(classifier) -> None:
    torch.manual_seed(0)
    model = models.GatedPixelCNN(in_channels=1, levels=2, hidden=4, n_layers=1, n_classes=10)
    quality, samples = sample_quality.sample_quality(model, classifier, per_class=1)
    assert samples.shape == (10, 1, 28, 28) and quality.n == 10 and len(quality.per_class) == 10
    unconditional = models.GatedPixelCNN(in_channels=1, levels=2, hidden=4, n_layers=1)
    quality, _ = sample_quality.sample_quality(unconditional, classifier, per_class=1)
    assert quality.asked_fraction is None and 0.1 <= quality.mean_confidence <= 1.0


def test_judge_counts_confident_answers_with_binomial_standard_errors() -> None:
    class Graded(torch.nn.Module):  # image k gets logit 2k for digit 3: confidence rises with k
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            logits = torch.zeros(len(x), 10)
            logits[:, 3] = 2.0 * torch.arange(len(x)).float()
            return logits

    images = torch.rand(5, 1, 28, 28)
    confidence = torch.softmax(torch.tensor([8.0] + [0.0] * 9), 0)[0].item()  # image 4's, about 0.997
    quality = sample_quality.judge(Graded(), images, torch.tensor([3, 3, 3, 3, 0]))
    expected = sum(torch.softmax(torch.tensor([2.0 * k] + [0.0] * 9), 0)[0].item() >= 0.9 for k in range(5)) / 5
    assert quality.confident_fraction == pytest.approx(expected) and expected == 0.4 and confidence >= 0.9
    # image 0's logits are all equal, so its answer is digit 0, not the asked 3; image 4 was asked for a 0
    assert quality.asked_fraction == pytest.approx(0.6) and quality.asked_se == pytest.approx((0.6 * 0.4 / 5) ** 0.5)
    assert quality.confident_se == pytest.approx((0.4 * 0.6 / 5) ** 0.5)
    assert "60.0% ± 21.9% classified as the asked digit, 40.0% ± 21.9% named with confidence >= 0.9" in str(quality)
    assert sample_quality.judge(Graded(), images, threshold=0.99).confident_fraction == pytest.approx(0.2)
    # none, or all, of 5: the standard error is 0, so the exact one-sided 95% bound 1 - 0.05^(1/5) = 45.1% is printed
    assert "0 of 5 (95% upper bound 45.1%) named with confidence >= 0.999" in str(sample_quality.judge(Graded(), images, threshold=0.999))
    assert str(sample_quality.judge(Graded(), images, torch.tensor([1, 2, 0, 0, 1]))).startswith("0 of 5 (95% upper bound 45.1%) classified as the asked")
    assert sample_quality.fraction_text(1.0, 100) == "100 of 100 (95% lower bound 97.0%)"
    with pytest.raises(ValueError, match="threshold"):
        sample_quality.judge(Graded(), images, threshold=0.0)


def _benchmark():
    """benchmarks/sample_quality.py as a module (it is a script, not part of the package)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("sample_quality_benchmark", Path(__file__).parents[1] / "benchmarks" / "sample_quality.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    return benchmark


def test_the_benchmark_rewrites_only_its_table_in_the_results_page(tmp_path) -> None:
    benchmark = _benchmark()
    page = tmp_path / "results.md"
    page.write_text(f"# before\n{benchmark.BEGIN}\nold table\n{benchmark.END}\n# after\n")
    benchmark.main(["--n", "10", "--checkpoints", "gated_conditional_mnist", "--results", str(page), "--threads", "1"])
    text = page.read_text()
    assert text.startswith("# before\n") and text.endswith("# after\n") and "old table" not in text
    row = next(line for line in text.splitlines() if line.startswith("| `gated_conditional_mnist`"))
    assert row.count("%") == 4 and "--n 10" in text  # asked and confident, for samples and for the held-out digits
    assert "tiles shuffled" in text


def test_the_benchmark_table_gives_a_bound_where_none_or_all_of_the_samples_pass() -> None:
    """A cell of 0 of 100 printed '0% ± 0', a certainty 100 samples cannot give."""
    benchmark = _benchmark()
    assert benchmark.percent(0.0, 100) == "0 of 100 (95% upper bound 3.0%)"
    assert benchmark.percent(1.0, 10) == "10 of 10 (95% lower bound 74.1%)"
    assert benchmark.percent(0.37, 100) == "37% ± 5"
    assert benchmark.percent(None, 100) == "—"


def test_the_benchmark_table_keeps_a_small_fraction_visible() -> None:
    """1 of 500 printed '0% ± 0', which reads as none with certainty."""
    benchmark = _benchmark()
    assert benchmark.percent(1 / 500, 500) == "0.2% ± 0.2"
    assert benchmark.percent(0.86, 500) == "86% ± 2"
