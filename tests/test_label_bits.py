"""label_bits: a conditional model's marginal -log2 (1/K) sum_k p(x | k) and the log2 K bound."""

from __future__ import annotations

import math

import pytest
import torch

from pixelcnn_edu import data, label_bits, models, train


def _tiny(n_classes: int | None = 3) -> models.GatedPixelCNN:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return models.GatedPixelCNN(1, 2, hidden=4, n_layers=1, input_kernel_size=3, n_classes=n_classes)


def _images(n: int = 5, n_classes: int = 3) -> data.ImageDataset:
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 2, (n, 1, 4, 4), generator=g).float()
    return data.ImageDataset(images, torch.arange(n) % n_classes, 2, "toy")


def test_class_log_likelihoods_score_each_label() -> None:
    model, dataset = _tiny(), _images()
    ll = label_bits.class_log_likelihoods(model, dataset, batch_size=2)
    assert ll.shape == (5, 3)
    with torch.no_grad():
        for k in range(3):
            direct = model.eval().log_prob(dataset.images, torch.full((5,), k)).flatten(1).sum(1)
            assert torch.allclose(ll[:, k], direct.double(), atol=1e-5)


def test_given_label_bits_is_the_conditional_score() -> None:
    model, dataset = _tiny(), _images()
    bits = label_bits.given_label_bits(label_bits.class_log_likelihoods(model, dataset), dataset.labels)
    per_dim = train.evaluate(model, dataset, per_image=True)  # -log2 p(x | y) / D with the true labels
    assert torch.allclose(bits.float() / 16, per_dim, atol=1e-5)


def test_marginal_is_the_mean_of_the_probabilities_and_obeys_the_bound() -> None:
    model, dataset = _tiny(), _images()
    ll = label_bits.class_log_likelihoods(model, dataset)
    marginal = label_bits.marginal_bits(ll)
    brute = -torch.log2(ll.exp().mean(1))
    assert torch.allclose(marginal, brute, atol=1e-9)
    gap = marginal - label_bits.given_label_bits(ll, dataset.labels)
    assert (gap <= math.log2(3) + 1e-9).all()  # the label is worth at most log2 K bits


def test_equal_likelihoods_give_a_label_worth_exactly_log2_k_or_nothing() -> None:
    ll = torch.tensor([[-5.0, -5.0, -5.0, -5.0], [-3.0, -1e9, -1e9, -1e9]], dtype=torch.float64)
    marginal = label_bits.marginal_bits(ll)
    given = label_bits.given_label_bits(ll, torch.tensor([2, 0]))
    assert torch.allclose(marginal - given, torch.tensor([0.0, 2.0], dtype=torch.float64))


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="not class-conditional"):
        label_bits.class_log_likelihoods(_tiny(None), _images())
    with pytest.raises(ValueError, match="shape"):
        label_bits.marginal_bits(torch.zeros(3))
    with pytest.raises(ValueError, match="labels"):
        label_bits.given_label_bits(torch.zeros(3, 2), torch.zeros(2))
