"""Tests of the ablation studies: the variants differ from the base model in one argument only,
every run of a study gets the same budget, and the table and the spread are computed right."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
import torch

from solutions import solution

from pixelcnn_edu import ablation, data, train

TINY = ablation.Budget(hidden=12, n_layers=1, kernel_size=3, epochs=1, train_limit=32, test_limit=16, batch_size=16)


@pytest.mark.parametrize("name", list(ablation.STUDIES))
def test_each_variant_changes_only_its_own_argument(name: str) -> None:
    study = ablation.STUDIES[name]
    in_channels, levels = (3, 4) if study.color else (1, 2)
    configs = {v: ablation.build_variant(study, v, ablation.QUICK, in_channels, levels).config() for v in study.variants}
    changed = {key for config in configs.values() for key in config if config[key] != next(iter(configs.values()))[key]}
    for variant, arguments in study.variants.items():
        for key, value in arguments.items():
            assert configs[variant][key] == (list(value) if isinstance(value, tuple) else value)
    allowed = {key for arguments in study.variants.values() for key in arguments}
    if "n_layers" in allowed:  # one dilation per block, all 1
        allowed.add("dilations")
        assert all(config["dilations"] == [1] * config["n_layers"] for config in configs.values())
    assert changed <= allowed
    assert set(study.report) <= set(study.variants)


def test_base_model_is_the_reports_block() -> None:
    model = ablation.build_variant(ablation.STUDIES["depth"], "5 blocks", ablation.QUICK, 1, 2)
    config = model.config()
    assert (config["kernel_size"], config["input_kernel_size"], config["norm"], config["residual"]) == (7, 7, "layer", True)
    assert config["n_layers"] == 5
    with pytest.raises(ValueError, match="no variant"):
        ablation.build_variant(ablation.STUDIES["depth"], "4 blocks", ablation.QUICK, 1, 2)


def test_run_study_trains_every_variant_and_seed_on_the_same_data(monkeypatch) -> None:
    seen = []
    real_fit = train.fit

    def spy(model, train_set, test_set, **kwargs):
        seen.append((type(model).__name__, len(train_set), len(test_set), kwargs["epochs"], kwargs["seed"]))
        return real_fit(model, train_set, test_set, **kwargs)

    monkeypatch.setattr(train, "fit", spy)
    result = ablation.run_study("color", seeds=(0, 1), budget=TINY, progress=False)
    assert list(result.scores) == ["R -> G -> B", "independent channels"]
    assert all(len(values) == 2 and all(math.isfinite(v) for v in values) for values in result.scores.values())
    assert seen == [("PixelCNN", 32, 16, 1, seed) for _ in range(2) for seed in (0, 1)]
    assert "colored-mnist" in result.dataset
    plain = ablation.run_study("residual", seeds=(0,), budget=TINY, progress=False)
    assert plain.parameters["residual"] == plain.parameters["no residual"]  # the identity path has no weights
    assert "mnist-embedded" in plain.dataset


def test_same_seed_same_score() -> None:
    first = ablation.run_study("depth", seeds=(3,), budget=TINY, progress=False)
    again = ablation.run_study("depth", seeds=(3,), budget=TINY, progress=False)
    assert first.scores == again.scores


def test_table_spread_and_difference() -> None:
    result = ablation.StudyResult(ablation.STUDIES["depth"], [0, 1, 2], dataset="digits")
    result.scores = {"3 blocks": [0.20, 0.22, 0.24], "5 blocks": [0.18, 0.18, 0.18], "8 blocks": [0.19, 0.20, 0.21]}
    result.parameters = {"3 blocks": 10, "5 blocks": 20, "8 blocks": 30}
    result.histories = {v: [train.History(test_bpd=[s + 0.1, s]) for s in scores] for v, scores in result.scores.items()}
    assert result.mean("3 blocks") == pytest.approx(0.22)
    assert result.spread("3 blocks") == pytest.approx(statistics.stdev([0.20, 0.22, 0.24]))
    assert result.spread("5 blocks") == 0.0
    assert result.best() == "5 blocks"
    table = result.table()
    assert "| 3 blocks | 10 | 0.2200 ± 0.0200 | 0.2000, 0.2200, 0.2400 | — |" in table
    assert "| 5 blocks | 20 | 0.1800 ± 0.0000 |" in table and "0.1085" in table
    diff, error = ablation.difference(result, "3 blocks", "5 blocks")
    assert diff == pytest.approx(0.04) and error == pytest.approx(0.02 / math.sqrt(3))
    assert result.test_curves()["3 blocks"] == pytest.approx([0.32, 0.22])
    with pytest.raises(ValueError, match="no variant"):
        ablation.difference(result, "3 blocks", "10 blocks")


def test_t_critical_is_students_two_sided_five_percent_point() -> None:
    """Against the formula: the Student t density integrated numerically up to the critical value is 0.975."""
    for df in (1, 2, 3, 5, 10, 30):
        t = ablation.t_critical(df)
        x = np.linspace(-4000.0 if df == 1 else -200.0, t, 4_000_001)
        log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
        density = np.exp(log_c - (df + 1) / 2 * np.log1p(x**2 / df))
        cdf = np.trapezoid(density, x) + (0.5 - math.atan(4000.0) / math.pi if df == 1 else 0.0)
        assert cdf == pytest.approx(0.975, abs=3e-4), df
    assert ablation.t_critical(2) == 4.303 and ablation.t_critical(35) == ablation.t_critical(30)
    with pytest.raises(ValueError, match="df must be an int >= 1"):
        ablation.t_critical(0)


def test_a_lead_that_pairing_does_not_support_is_not_called_real() -> None:
    """The defect: two unpaired standard errors with 3 seeds called this lead real (2.4 unpaired standard
    errors); the paired t over the seeds is 3.5, short of the 4.30 that 3 seeds need at 5%."""
    result = ablation.StudyResult(ablation.STUDIES["depth"], [0, 1, 2], dataset="digits")
    result.scores = {"3 blocks": [0.30, 0.31, 0.32], "5 blocks": [0.28, 0.30, 0.29]}
    diff, error = ablation.difference(result, "3 blocks", "5 blocks")
    assert diff == pytest.approx(0.02) and error == pytest.approx(0.01 / math.sqrt(3))
    assert not ablation.beyond_noise(diff, error, 3)
    assert ablation.beyond_noise(diff, error / 2, 3)  # t = 6.9: real
    assert not ablation.beyond_noise(0.5, float("nan"), 1)  # one seed measures no noise
    result.scores["8 blocks"] = [0.2]
    with pytest.raises(ValueError, match="different numbers of seeds"):
        ablation.difference(result, "3 blocks", "8 blocks")


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown study"):
        ablation.run_study("dropout", budget=TINY)
    with pytest.raises(ValueError, match="seeds is empty"):
        ablation.run_study("depth", seeds=(), budget=TINY)
    with pytest.raises(ValueError, match="ints >= 0"):
        ablation.run_study("depth", seeds=(-1,), budget=TINY)


def test_colour_study_falls_back_loudly(monkeypatch, capsys) -> None:
    def unavailable(name, split, root, download):
        raise data.DatasetUnavailable(f"{name} could not be downloaded")

    monkeypatch.setattr(data, "_torchvision_split", unavailable)
    budget = ablation.Budget(color_dataset="celeba", train_limit=8, test_limit=8)
    with pytest.warns(UserWarning, match="celeba could not be downloaded"):
        train_set, test_set = ablation.study_datasets(ablation.STUDIES["color"], budget)
    assert "WARNING" in capsys.readouterr().out
    assert train_set.name == data.COLORED and train_set.in_channels == 3 and len(test_set) == 8
    assert torch.equal(train_set.images, data.load_dataset(data.COLORED, "train", 4).images[:8])


# --- exercise 02b: reading a study ------------------------------------------------------------------


def synthetic(scores: dict[str, list[float]]) -> ablation.StudyResult:
    result = ablation.StudyResult(ablation.STUDIES["depth"], [0, 1, 2], dataset="digits")
    result.scores = scores
    return result


CLEAR = {"3 blocks": [0.20, 0.21, 0.22], "5 blocks": [0.15, 0.151, 0.152], "8 blocks": [0.18, 0.18, 0.19]}
NOISY = {"3 blocks": [0.20, 0.21, 0.22], "5 blocks": [0.15, 0.19, 0.23], "8 blocks": [0.17, 0.21, 0.20]}


def test_study_reading_accepts_the_right_reading(capsys) -> None:
    from pixelcnn_edu import exercises

    assert exercises.check_study_reading(synthetic(CLEAR), "5 blocks", True)
    assert "beyond the noise" in capsys.readouterr().out
    assert exercises.check_study_reading(synthetic(NOISY), "5 blocks", False)
    assert "within the noise" in capsys.readouterr().out


@pytest.mark.parametrize("scores, best, beyond, says", [
    (CLEAR, "3 blocks", True, "lower is better"),
    (CLEAR, "8 blocks", True, "has a lower mean"),
    (CLEAR, "5 blocks", False, "beyond their noise"),
    (NOISY, "5 blocks", True, "could reverse it"),
    (CLEAR, "4 blocks", True, "not a variant"),
    (CLEAR, "5 blocks", "yes", "True or False"),
])
def test_study_reading_says_what_is_wrong(scores, best, beyond, says, capsys) -> None:
    from pixelcnn_edu import exercises

    assert not exercises.check_study_reading(synthetic(scores), best, beyond)
    out = capsys.readouterr().out
    assert out.startswith(exercises.NOT_YET) and says in out


def test_a_lead_identical_on_every_seed_is_read_without_dividing_by_zero(capsys) -> None:
    """Per-seed differences that are all equal have a standard error of 0: the lead is beyond the noise,
    and the check says so to a student who answers False instead of failing with ZeroDivisionError."""
    from pixelcnn_edu import exercises

    steady = {"3 blocks": [1.5, 1.5, 1.5], "5 blocks": [0.25, 0.5, 0.75], "8 blocks": [0.5, 0.75, 1.0]}  # exact in binary
    assert not exercises.check_study_reading(synthetic(steady), "5 blocks", False)
    assert "beyond their noise" in capsys.readouterr().out
    assert exercises.check_study_reading(synthetic(steady), "5 blocks", True)


def test_study_reading_unanswered(capsys) -> None:
    from pixelcnn_edu import exercises

    assert not exercises.check_study_reading(None, None, None)
    assert not exercises.check_study_reading(synthetic(CLEAR), None, None)
    assert capsys.readouterr().out.count(exercises.UNANSWERED) == 2


@pytest.mark.parametrize("number", [1, 2, 3])
@pytest.mark.parametrize("scores", [CLEAR, NOISY])
def test_worked_solutions_pass_the_check(number, scores, capsys) -> None:
    from pixelcnn_edu import exercises
    from solutions import nb02b

    result = synthetic(scores)
    assert exercises.check_study_reading(result, *getattr(nb02b, f"exercise_{number}")(result))
    assert f"def exercise_{number}(" in solution("02b", number).data
