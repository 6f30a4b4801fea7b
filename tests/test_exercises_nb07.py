"""Notebook 07's exercise checks: they accept the right answers and the worked solutions, name the
usual slips, never crash on None, and expect what the package itself computes."""

from __future__ import annotations

import pytest
import torch

from pixelcnn_edu import exercises, models, receptive_field, sampling
from solutions import nb07 as solutions
from solutions import solution
from pixelcnn_edu.models.transformer import CausalSelfAttention


def test_causal_pairs(capsys) -> None:
    assert not exercises.check_causal_pairs(None)
    assert capsys.readouterr().out.startswith("Not answered yet:")
    slips = {
        "keeps the diagonal": lambda c, h, w: (c * h * w) * (c * h * w + 1) // 2,
        "every pair": lambda c, h, w: (c * h * w) ** 2,
        "L = C*H*W": lambda c, h, w: (h * w) * (h * w - 1) // 2,
        "counted twice": lambda c, h, w: (c * h * w) * (c * h * w - 1),
        "gave 7. Hint: with L tokens": lambda c, h, w: 7,
        "ZeroDivisionError": lambda c, h, w: 1 / 0,
        "expected a function": 306936,
    }
    for hint, answer in slips.items():
        assert not exercises.check_causal_pairs(answer)
        out = capsys.readouterr().out
        assert out.startswith("❌ Not yet:") and hint in out
        if callable(answer):  # (a bare number is the student's own value, shown back)
            assert "expected" not in out and "306,936" not in out and "306936" not in out  # never the answer
    assert exercises.check_causal_pairs(solutions.exercise_1)
    assert capsys.readouterr().out.startswith("✅ Correct:")


def test_causal_pairs_are_what_autograd_counts() -> None:
    """The formula is the number of (target, earlier sub-pixel) pairs that a PixelTransformer's
    log_prob depends on, by autograd (one token per sub-pixel, RGB)."""
    torch.manual_seed(0)
    model = models.PixelTransformer(3, 4, hidden=8, n_layers=1, n_heads=2, image_size=(2, 3)).eval()
    report = receptive_field.check_causality(model, (2, 3), generator=torch.Generator().manual_seed(0))
    n = 3 * 2 * 3
    pairs_read = sum(range(n)) - report.missed_past
    assert report.causal and report.missed_past == 0 and pairs_read == solutions.exercise_1(3, 2, 3)


def test_attention_share_is_a_prediction_checked_by_a_flop_count(capsys) -> None:
    from pixelcnn_edu.exercises import nb07

    assert not nb07.check_attention_share(None)
    assert capsys.readouterr().out.startswith("Not answered yet:")
    slips = {67: "percentage", 2000: "between 0 and 1", 0.505: "one L x L product", 0.86: "leaves out the MLP",
             0.9: "too high", 0.3: "cancel L d", "0.67": "a number", 0.845: "the share for d = 24"}
    for answer, hint in slips.items():
        assert not nb07.check_attention_share(answer)
        out = capsys.readouterr().out
        assert out.startswith("❌ Not yet:") and hint in out, (answer, out)
        assert "0.671" not in out  # never the answer
    assert nb07.check_attention_share(solutions.exercise_2())
    out = capsys.readouterr().out
    assert out.startswith("✅ Correct:") and "measures 0.671" in out
    assert nb07.check_attention_share(0.84, hidden=24)  # the notebook's transformer: 784 / (784 + 144)
    with pytest.raises(ValueError, match="hidden"):
        nb07.check_attention_share(0.5, hidden=0)


def test_the_formula_share_is_what_pytorch_counts() -> None:
    from pixelcnn_edu.exercises import nb07

    for hidden, length in ((8, 48), (16, 200), (64, 784)):
        assert abs(nb07._attention_share_counted(hidden, length) - length / (length + 6 * hidden)) < 1e-9


def test_crossover_length_matches_a_flop_count() -> None:
    """At L = 6 d the attention's multiply-adds equal the rest of a block's, counted by PyTorch on
    the explicit (math) attention of a real block."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from pixelcnn_edu.models.transformer import TransformerBlock

    d = 8
    block = TransformerBlock(d, 2, 0.0, 1).eval()
    h = torch.zeros(1, 6 * d, d)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, torch.no_grad():
        block(h)
    counts = {str(op): flops for op, flops in counter.get_flop_counts()["Global"].items()}
    assert counts["aten.bmm"] == counts["aten.addmm"]  # attention products == projections + MLP


def test_kv_cache_floats(capsys) -> None:
    assert not exercises.check_kv_cache_floats(None)
    assert capsys.readouterr().out.startswith("Not answered yet:")
    slips = {
        "keys and the values": lambda n, L, d: n * L * d,
        "its own cache": lambda n, L, d: 2 * L * d,
        "not the L x L": lambda n, L, d: n * L * L,
        "queries are not kept": lambda n, L, d: 3 * n * L * d,
        "gave 1. Hint: list what one layer keeps": lambda n, L, d: 1,
        "expected a function": 75264,
    }
    for hint, answer in slips.items():
        assert not exercises.check_kv_cache_floats(answer)
        out = capsys.readouterr().out
        assert out.startswith("❌ Not yet:") and hint in out, (hint, out)
        if callable(answer):  # never the answer (2 x 3 layers x 10 tokens x 8 = 480)
            assert "expected" not in out and "480" not in out
    assert exercises.check_kv_cache_floats(solutions.exercise_3)


def test_kv_cache_floats_are_the_buffers_the_sampler_fills(monkeypatch: pytest.MonkeyPatch) -> None:
    original, sizes = CausalSelfAttention._attend_cached, {}

    def recording(self, q, k, v):
        out = original(self, q, k, v)
        sizes[id(self)] = self._buffer.numel()
        return out

    monkeypatch.setattr(CausalSelfAttention, "_attend_cached", recording)
    torch.manual_seed(0)
    model = models.PixelTransformer(1, 2, hidden=8, n_layers=3, n_heads=2, image_size=(3, 4)).eval()
    sampling.sample(model, 1, (3, 4), generator=torch.Generator().manual_seed(0), cache=True)
    assert len(sizes) == 3 and sum(sizes.values()) == solutions.exercise_3(3, 12, 8)


def test_the_worked_solutions_are_shown_as_source() -> None:
    for number in (1, 2, 3):
        assert f"def exercise_{number}(" in solution("07", number).data
