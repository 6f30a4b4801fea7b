"""PixelTransformer: causal by autograd, a KV cache that draws the naive loop's images, attention as a
receptive field, configs and checkpoints, and clear errors.

Also in the shared tests: cached = naive sampling (``test_fast_sampling.CASES``), exact sampling and
probabilities summing to 1 over every tiny image (``test_sampling.TINY_MODELS``), shapes, config round
trips and bad inputs (``test_models.TINY``), ``hides_current_pixel`` by autograd (``test_models``).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from pixelcnn_edu import checkpoints, likelihoods, models, receptive_field, sampling
from pixelcnn_edu.models.transformer import CausalSelfAttention
from test_fast_sampling import TOLERANCE, build

SMALL = dict(hidden=16, n_layers=2, n_heads=2, image_size=(6, 6))


def mixture(coupled: bool) -> likelihoods.DiscretizedLogisticMixture:
    return likelihoods.DiscretizedLogisticMixture(2, 4, coupled=coupled)


CONFIGS: dict[str, dict[str, Any]] = {
    "grey": dict(in_channels=1, levels=2),
    "rgb": dict(in_channels=3, levels=4),
    "rgb-mixture-coupled": dict(in_channels=3, levels=4, likelihood=mixture(True)),
    "rgb-mixture-uncoupled": dict(in_channels=3, levels=4, likelihood=mixture(False)),
    "grey-conditional": dict(in_channels=1, levels=4, n_classes=3),
    "rgb-conditional": dict(in_channels=3, levels=4, n_classes=3),
}


def labels(model: models.AutoregressiveModel, n: int) -> torch.Tensor | None:
    return None if model.n_classes is None else torch.arange(n) % model.n_classes


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_sub_pixel_reads_every_earlier_one_and_nothing_later(name: str, make_model) -> None:
    """Eval mode: the gradient of log_prob at each of the C*4*5 sub-pixels is exactly zero at and after
    it and nonzero at every sub-pixel before it (attention reaches the whole past: no blind spot)."""
    model = make_model(models.PixelTransformer, **SMALL, **CONFIGS[name], dropout=0.2).eval()
    report = receptive_field.check_causality(model, (4, 5), y=labels(model, 2), generator=torch.Generator().manual_seed(0))
    assert report.causal and report.sees_all_past
    assert report.targets_using_past == report.targets_with_past == model.in_channels * 20 - 1


@pytest.mark.parametrize("name", list(CONFIGS))
def test_dropout_in_training_mode_stays_causal(name: str, make_model) -> None:
    """Train mode: dropout on the embeddings, the attention weights and the blocks' branches drops
    paths but adds none. (A dropped path may hide a past sub-pixel, so only the leaks are counted.)"""
    model = make_model(models.PixelTransformer, **SMALL, **CONFIGS[name], dropout=0.2).train()
    torch.manual_seed(0)  # the dropout masks
    report = receptive_field.check_causality(model, (4, 5), y=labels(model, 2), generator=torch.Generator().manual_seed(0))
    assert report.causal and report.targets_using_past == report.targets_with_past
    x = receptive_field.model_inputs(model, 2, (4, 5))
    assert not torch.equal(model(x, labels(model, 2)), model(x, labels(model, 2)))  # dropout is on ...
    model.eval()
    assert torch.equal(model(x, labels(model, 2)), model(x, labels(model, 2)))  # ... and only in training


def test_the_autograd_receptive_field_is_the_whole_past(make_model) -> None:
    """The existing helpers work unchanged: every earlier pixel reached, no blind spot, no future leak;
    G's and R's parameters read the current R, no parameter reads the current B."""
    model = make_model(models.PixelTransformer, **SMALL, **CONFIGS["rgb"])
    position = (2, 1)
    field = receptive_field.model_receptive_field(model, (4, 5), position)
    past = receptive_field.raster_order_mask((1, 4, 5), (0, *position))[0]
    assert (field.sum(0)[past] != 0).all()
    assert not receptive_field.blind_spot(field, position).any()
    assert not receptive_field.future_leak(field, position).any()
    assert field[0, 2, 1] != 0 and field[1, 2, 1] != 0 and field[2, 2, 1] == 0


@pytest.mark.parametrize("name", ["grey", "rgb", "rgb-mixture-coupled"])
def test_attention_as_a_receptive_field(name: str, make_model, make_images) -> None:
    model = make_model(models.PixelTransformer, **SMALL, **CONFIGS[name]).eval()
    per_pixel = model.tokens_per_pixel
    assert per_pixel == (1 if name != "rgb" else 3)
    x = make_images(n=2, channels=model.in_channels, size=(4, 5), levels=model.levels)
    channel = per_pixel - 1
    for layer in (0, -1):
        field = receptive_field.attention_field(model, x, (2, 1), channel=channel, layer=layer)
        assert field.shape == (per_pixel, 4, 5)
        query = (2 * 5 + 1) * per_pixel + channel
        flat = field.permute(1, 2, 0).flatten()  # raster order of the tokens
        assert (flat[:query] > 0).all() and (flat[query:] == 0).all()  # every earlier token, nothing from here on
        assert 0 < flat.sum() < 1  # the rest goes to the start token
    with pytest.raises(ValueError, match="is not a token of a 4x5 image"):
        receptive_field.attention_field(model, x, (4, 0))


def test_the_attention_weights_are_the_ones_the_layer_uses(make_model) -> None:
    torch.manual_seed(0)
    layer = CausalSelfAttention(16, 4, 0.0, 1)
    h = torch.randn(2, 7, 16)
    _, _, v = layer._heads(h)
    by_hand = layer.out((layer.weights(h) @ v).transpose(1, 2).flatten(2))  # sum over s of w_ts v_s, heads side by side
    assert torch.allclose(layer(h), by_hand, atol=1e-6)
    weights = make_model(models.PixelTransformer, **SMALL, **CONFIGS["grey"]).attention_weights(torch.zeros(1, 1, 3, 3))
    assert weights.shape == (2, 1, 2, 9, 9)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 1, 2, 9)) and (weights.triu(1) == 0).all()


def test_the_kv_cache_computes_only_the_region_and_never_the_whole_image() -> None:
    """Per drawn pixel the attention gets the tokens of the current pixel and the one before it
    (one token per sub-pixel here); once per row, two whole rows. The model never runs on the whole image."""
    model, (h, w), _ = build("transformer-rgb")
    lengths: list[int] = []
    model.blocks[0].attention.register_forward_hook(lambda module, args, out: lengths.append(args[0].shape[1]))
    full: list[int] = []
    model.register_forward_hook(lambda *args: full.append(1))
    sampling.sample(model, 2, (h, w), generator=torch.Generator().manual_seed(0))
    assert not full
    assert sorted(set(lengths)) == [3, 6, 3 * w, 6 * w]
    assert lengths.count(3) + lengths.count(6) == 3 * h * w  # one pass per sub-pixel: R, G and B each see the last draw


def test_a_cache_that_forgets_what_a_pixel_pass_wrote_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mutation: attention layers that keep only the keys and values of the passes over whole rows.
    The agreement check must see it."""
    original = CausalSelfAttention._attend_cached

    def forgetful(self: CausalSelfAttention, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if self._buffer is None or self.cache.cols == (0, self.cache.width):
            return original(self, q, k, v)
        saved = self._buffer.clone()
        out = original(self, q, k, v)
        self._buffer.copy_(saved)
        return out

    monkeypatch.setattr(CausalSelfAttention, "_attend_cached", forgetful)
    model, size, _ = build("transformer-rgb")
    result = sampling.agreement(model, 3, size, seed=1)
    assert result.max_prob_diff > 1000 * TOLERANCE and not result.same_values


def test_cached_sampling_of_a_loaded_checkpoint_matches_the_naive_loop(tmp_path, make_model, make_images) -> None:
    model = make_model(models.PixelTransformer, **SMALL, **CONFIGS["rgb-conditional"], dropout=0.1)
    path = checkpoints.save_checkpoint(tmp_path / "transformer.pt", model)
    loaded, state = checkpoints.load_model(path)
    assert state["name"] == "transformer" and loaded.config() == model.config()
    x = make_images(n=2, channels=3, size=(6, 6), levels=4)
    y = torch.tensor([0, 2])
    assert torch.equal(loaded.log_prob(x, y), model.eval().log_prob(x, y))
    result = sampling.agreement(loaded, 2, (3, 4), y=y, seed=3)
    assert result.max_prob_diff < TOLERANCE and result.same_values


def test_smaller_images_than_the_position_tables_work_and_larger_ones_are_refused(make_model, make_images) -> None:
    model = make_model(models.PixelTransformer, **SMALL, **CONFIGS["grey"])
    assert model.log_prob(make_images(size=(2, 6))).shape == (2, 1, 2, 6)
    message = r"position tables cover images up to \(6, 6\), got \(7, 5\); build it with image_size=\(7, 6\) or larger"
    with pytest.raises(ValueError, match=message):
        model(make_images(size=(7, 5)))
    with pytest.raises(ValueError, match=message):
        sampling.sample(model, 1, (7, 5))
    assert models.PixelTransformer(1, 2, hidden=8, n_heads=2, image_size=5).image_size == (5, 5)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        (dict(hidden=30, n_heads=4), ValueError,
         r"hidden must be divisible by n_heads \(each head gets hidden / n_heads features\), got hidden=30 and n_heads=4"),
        (dict(n_layers=0), ValueError, "n_layers must be >= 1, got 0"),
        (dict(n_layers=2.0), TypeError, "n_layers must be an int, got float"),
        (dict(hidden=0), ValueError, "hidden must be >= 1, got 0"),
        (dict(n_heads=0), ValueError, "n_heads must be >= 1, got 0"),
        (dict(dropout=1.0), ValueError, r"dropout must be in \[0, 1\), got 1.0"),
        (dict(dropout="0.1"), TypeError, "dropout must be a number in"),
        (dict(image_size=(28, 0)), ValueError, "image_size must be >= 1, got 0"),
        (dict(image_size=(28, 28, 3)), ValueError, r"image_size must be an int or a pair \(H, W\)"),
        (dict(levels=2, likelihood=likelihoods.Categorical(4)), ValueError, "likelihood has 4 levels but the model has levels=2"),
        (dict(n_classes=0), ValueError, "n_classes must be >= 1, got 0"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict, error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        models.PixelTransformer(**{"hidden": 16, "n_heads": 2, **kwargs})
