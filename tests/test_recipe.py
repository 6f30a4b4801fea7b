"""The training recipe: the learning-rate schedule against its formula, EMA weights against theirs,
and both through train.fit (evaluated, saved, resumed exactly after an interruption)."""

from __future__ import annotations

import math
import signal
from pathlib import Path

import pytest
import torch

from pixelcnn_edu import checkpoints, models, recipe, train

FIT = dict(batch_size=32, lr=1e-2, progress=False)  # 200 digit crops: 7 batches per epoch


@pytest.mark.parametrize("progress, expected", [(0.0, 0.0), (0.05, 1.0), (0.025, 0.5), (0.525, 0.5), (1.0, 0.0)])
def test_the_cosine_schedule_rises_linearly_then_follows_half_a_cosine(progress: float, expected: float) -> None:
    assert recipe.lr_factor(progress, schedule="cosine", warmup=0.05) == pytest.approx(expected, abs=1e-12)


def test_the_constant_schedule_only_warms_up() -> None:
    assert [recipe.lr_factor(p, schedule="constant", warmup=0.2) for p in (0.1, 0.2, 0.9)] == pytest.approx([0.5, 1.0, 1.0])
    assert recipe.lr_factor(0.0, schedule="constant", warmup=0.0) == 1.0


@pytest.mark.parametrize("schedule, warmup, message", [("linear", 0.0, "schedule must be"), ("cosine", 1.0, "warmup"), ("cosine", -0.1, "warmup")])
def test_bad_schedules_are_refused(schedule: str, warmup: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        recipe.check_schedule(schedule, warmup)


def _rates(optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler, steps: int) -> list[float]:
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_the_scheduler_uses_the_middle_of_each_step_and_a_resumed_one_continues_it() -> None:
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    rates = _rates(optimizer, recipe.lr_scheduler(optimizer, 10, warmup=0.1), 10)
    assert rates == pytest.approx([0.1 * recipe.lr_factor((s + 0.5) / 10, warmup=0.1) for s in range(10)])
    assert rates[0] == pytest.approx(0.05) and 0 < rates[-1] < 0.01
    resumed = torch.optim.SGD([weight], lr=0.1)
    assert _rates(resumed, recipe.lr_scheduler(resumed, 10, warmup=0.1, first_step=4), 6) == pytest.approx(rates[4:])


def test_ema_weights_follow_the_formula_and_buffers_are_copied_not_averaged() -> None:
    torch.manual_seed(0)
    model = models.GatedPixelCNN(in_channels=3, levels=4, hidden=6, n_layers=1)
    averaged = recipe.ema_model(model, 0.9)
    expected = {k: p.detach().clone() for k, p in model.named_parameters()}
    recipe.update_ema(averaged, model)  # the first update copies
    for _ in range(3):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        recipe.update_ema(averaged, model)
        expected = {k: 0.9 * expected[k] + 0.1 * p.detach() for k, p in model.named_parameters()}
    for k, p in averaged.module.named_parameters():
        torch.testing.assert_close(p, expected[k])
    for kept, current in zip(averaged.module.buffers(), model.buffers()):
        assert kept.dtype == current.dtype and torch.equal(kept, current)  # e.g. output_order stays an exact permutation


@pytest.mark.parametrize("decay", [0.0, 1.0, True, "0.9"])
def test_a_bad_ema_decay_is_refused(decay: object) -> None:
    with pytest.raises(ValueError, match="ema decay"):
        recipe.ema_model(torch.nn.Linear(1, 1), decay)  # type: ignore[arg-type]


def test_fit_with_ema_evaluates_saves_and_returns_the_averaged_weights(make_pixelcnn, digit_crops, tmp_path: Path) -> None:
    path, model, test = tmp_path / "run.pt", make_pixelcnn(), digit_crops.subset(40)
    history = train.fit(model, digit_crops, test, epochs=2, checkpoint=path, ema=0.8, **FIT)
    assert history.test_bpd[-1] == pytest.approx(train.evaluate(model, test), abs=1e-6)  # the model holds the average
    state = checkpoints.load_checkpoint(path)
    assert state["ema"]["decay"] == 0.8 and int(state["ema"]["n_averaged"]) == 14
    assert any(not torch.equal(state["ema"]["model"][k], state["model"][k]) for k in state["model"])
    averaged, _ = checkpoints.load_model(path)
    raw, _ = checkpoints.load_model(path, weights="raw")
    assert all(torch.equal(averaged.state_dict()[k], state["ema"]["model"][k]) for k in state["model"])
    assert all(torch.equal(raw.state_dict()[k], state["model"][k]) for k in state["model"])
    with pytest.raises(ValueError, match='weights must be "ema" or "raw"'):
        checkpoints.load_model(path, weights="best")


def test_a_constant_schedule_keeps_the_rate_and_the_cosine_one_ends_near_zero(make_pixelcnn, digit_crops) -> None:
    for schedule, last in (("constant", 1e-2), ("cosine", 1e-2 * recipe.lr_factor(13.5 / 14, warmup=0.05))):
        model, seen = make_pixelcnn(), []
        original = torch.optim.Adam.step

        def step(self: torch.optim.Adam, *args: object, **kwargs: object) -> object:
            seen.append(self.param_groups[0]["lr"])
            return original(self, *args, **kwargs)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(torch.optim.Adam, "step", step)
            train.fit(model, digit_crops, epochs=2, schedule=schedule, warmup=0.05, **FIT)
        assert len(seen) == 14 and seen[-1] == pytest.approx(last)


def test_an_interrupted_run_with_ema_resumes_to_the_same_average(make_pixelcnn, digit_crops, monkeypatch, tmp_path: Path) -> None:
    reference = tmp_path / "reference.pt"
    train.fit(make_pixelcnn(), digit_crops, epochs=2, checkpoint=reference, ema=0.8, **FIT)
    path, model = tmp_path / "run.pt", make_pixelcnn()
    original, calls = model.log_prob, [0]

    def log_prob(x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        calls[0] += model.training
        if calls[0] == 10 and model.training:
            signal.raise_signal(signal.SIGINT)
        return original(x, y)

    monkeypatch.setattr(model, "log_prob", log_prob)
    with pytest.raises(train.TrainingInterrupted):
        train.fit(model, digit_crops, epochs=2, checkpoint=path, ema=0.8, **FIT)
    monkeypatch.undo()
    train.fit(make_pixelcnn(seed=5), digit_crops, epochs=2, checkpoint=path, ema=0.8, **FIT)
    a, b = checkpoints.load_checkpoint(path), checkpoints.load_checkpoint(reference)
    assert int(a["ema"]["n_averaged"]) == int(b["ema"]["n_averaged"]) == 14
    for part in ("model",):
        assert all(torch.equal(a[part][k], b[part][k]) for k in b[part])
    assert all(torch.equal(a["ema"]["model"][k], b["ema"]["model"][k]) for k in b["ema"]["model"])


def test_resuming_without_ema_weights_warns_and_starts_the_average_there(make_pixelcnn, digit_crops, tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    train.fit(make_pixelcnn(), digit_crops, epochs=1, checkpoint=path, **FIT)
    # a file written before the step settings were recorded (a run that records them refuses a new --ema by name)
    state = torch.load(path, weights_only=True)
    for key in train.SETTING_NAMES:
        del state["training"]["signature"][key]
    torch.save(state, path)
    with pytest.warns(UserWarning, match="no EMA weights"):
        train.fit(make_pixelcnn(), digit_crops, epochs=2, checkpoint=path, ema=0.8, **FIT)
    assert int(checkpoints.load_checkpoint(path)["ema"]["n_averaged"]) == 7


def test_a_checkpoint_with_a_malformed_ema_field_is_refused(make_pixelcnn, tmp_path: Path) -> None:
    path = checkpoints.save_checkpoint(tmp_path / "m.pt", make_pixelcnn())
    state = torch.load(path, weights_only=True)
    state["ema"] = {"decay": 0.9}
    torch.save(state, path)
    with pytest.raises(ValueError, match="'ema' should hold"):
        checkpoints.load_checkpoint(path)


def test_fit_refuses_a_bad_schedule_before_training(make_pixelcnn, digit_crops) -> None:
    with pytest.raises(ValueError, match="warmup"):
        train.fit(make_pixelcnn(), digit_crops, warmup=math.inf, **FIT)


@pytest.mark.parametrize("weights", ["raw", "ema"])
def test_an_export_can_keep_one_set_of_weights_and_says_which(make_pixelcnn, digit_crops, tmp_path: Path, weights: str) -> None:
    path = tmp_path / "run.pt"
    train.fit(make_pixelcnn(), digit_crops, epochs=1, checkpoint=path, ema=0.8, **FIT)
    run = checkpoints.load_checkpoint(path)
    exported = checkpoints.export_checkpoint(path, tmp_path / "shipped.pt", weights=weights)
    state = checkpoints.load_checkpoint(exported)
    assert "ema" not in state and "optimizer" not in state and state["exported_weights"].startswith(weights)
    kept = run["model"] if weights == "raw" else run["ema"]["model"]
    assert all(torch.equal(state["model"][k], kept[k]) for k in kept)
    assert repr(state["history"]) == repr(run["history"])  # the history stays as measured (NaN-safe)
    model, _ = checkpoints.load_model(exported)  # no EMA left: these weights load either way
    assert all(torch.equal(model.state_dict()[k], kept[k]) for k in kept)


def test_an_export_of_one_set_needs_a_run_with_ema(make_pixelcnn, digit_crops, tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    train.fit(make_pixelcnn(), digit_crops, epochs=1, checkpoint=path, **FIT)
    with pytest.raises(ValueError, match="holds no EMA weights"):
        checkpoints.export_checkpoint(path, tmp_path / "out.pt", weights="raw")
    with pytest.raises(ValueError, match='weights must be "both", "raw" or "ema"'):
        checkpoints.export_checkpoint(path, tmp_path / "out.pt", weights="average")


def test_mixed_precision_runs_the_network_in_bfloat16_and_keeps_the_rest_in_float32(make_pixelcnn, digit_crops) -> None:
    model, test = make_pixelcnn(), digit_crops.subset(40)
    seen: dict[str, set[torch.dtype]] = {"network": set(), "likelihood": set()}
    model.head.register_forward_hook(lambda module, inputs, output: seen["network"].add(output.dtype))
    original = model.likelihood.log_prob

    def log_prob(params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        seen["likelihood"].add(params.dtype)
        return original(params, x)

    model.likelihood.log_prob = log_prob
    history = train.fit(model, digit_crops, test, epochs=2, mixed_precision=True, **FIT)
    # training passes ran the head in bfloat16; the evaluations after each epoch in float32
    assert seen == {"network": {torch.bfloat16, torch.float32}, "likelihood": {torch.float32}}
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert history.test_bpd[-1] == pytest.approx(train.evaluate(model, test), abs=1e-6)  # scored in float32
    assert history.train_bpd[-1] < history.train_bpd[0] < 1.0  # it learns


def test_under_autocast_only_the_network_loses_precision(make_pixelcnn, digit_crops) -> None:
    model, x = make_pixelcnn(levels=4, hidden=16), digit_crops.images[:8]
    exact = model.log_prob(x)
    with recipe.mixed_precision("cpu"):
        mixed = model.log_prob(x)
    assert mixed.dtype == torch.float32
    assert (mixed - exact).abs().max() < 0.1  # bfloat16 convolutions, float32 log-softmax
    assert not torch.equal(mixed, exact)  # the convolutions did run in bfloat16


@pytest.mark.parametrize("flag", ["yes", 1, None])
def test_fit_refuses_a_mixed_precision_that_is_not_a_bool(make_pixelcnn, digit_crops, flag: object) -> None:
    with pytest.raises(TypeError, match="mixed_precision must be a bool"):
        train.fit(make_pixelcnn(), digit_crops, mixed_precision=flag, **FIT)
