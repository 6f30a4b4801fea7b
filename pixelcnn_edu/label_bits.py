"""What a class label is worth, in bits: a class-conditional model scored without its label.

A conditional model gives p(x | y). Its score given the true label, -log2 p(x | y), answers an
easier question than an unconditional model's -log2 p(x). The like-with-like score is the
conditional model's own marginal over K equally likely labels,

    p(x) = (1 / K) * sum_k p(x | y = k),

and since p(x) >= p(x | y) / K for the true y, the marginal costs at most log2 K bits per image
more than the score given the label: the label cannot be worth more than log2 K bits.
"""

from __future__ import annotations

import math

import torch

from .data import ImageDataset


@torch.no_grad()
def class_log_likelihoods(model: torch.nn.Module, dataset: ImageDataset, *, batch_size: int = 250) -> torch.Tensor:
    """log p(x | y = k) of every image for every class k, in nats: (N, K) float on the CPU.

    ``model`` is class-conditional (``model.n_classes`` = K); each image is scored K times, once
    per label, in eval mode (the mode is restored afterwards).
    """
    n_classes = getattr(model, "n_classes", None)
    if not n_classes:
        raise ValueError("the model is not class-conditional (n_classes is not set): it has no p(x | y) to marginalise")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        columns = []
        for k in range(n_classes):
            scores = []
            for x in dataset.images.split(batch_size):
                x = x.to(device)
                y = torch.full((len(x),), k, dtype=torch.long, device=device)
                scores.append(model.log_prob(x, y).flatten(1).sum(1).double().cpu())  # (B,) nats per image
            columns.append(torch.cat(scores))
    finally:
        model.train(was_training)
    return torch.stack(columns, dim=1)  # (N, K)


def marginal_bits(log_likelihoods: torch.Tensor) -> torch.Tensor:
    """-log2 (1/K) sum_k p(x | y = k) per image, in bits: (N,) from ``log_likelihoods`` (N, K) nats."""
    if log_likelihoods.dim() != 2 or log_likelihoods.shape[1] < 1:
        raise ValueError(f"log_likelihoods must have shape (N, K) with K >= 1, got {tuple(log_likelihoods.shape)}")
    k = log_likelihoods.shape[1]
    return -(torch.logsumexp(log_likelihoods, dim=1) - math.log(k)) / math.log(2)


def given_label_bits(log_likelihoods: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """-log2 p(x | y) per image for its own label, in bits: (N,) from (N, K) nats and labels (N,)."""
    if labels.shape != log_likelihoods.shape[:1]:
        raise ValueError(f"labels must have shape ({log_likelihoods.shape[0]},), got {tuple(labels.shape)}")
    return -log_likelihoods.gather(1, labels.long().view(-1, 1).to(log_likelihoods.device))[:, 0] / math.log(2)
