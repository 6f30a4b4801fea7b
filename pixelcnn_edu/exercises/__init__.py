"""Checks for the notebooks' exercises, with feedback a student can act on.

Every check takes the student's answer (a number, a function or a tensor), prints one
short message and returns ``True`` or ``False``:

* ``✅ Correct: ...`` when the answer is right;
* ``❌ Not yet: ...`` with what is wrong and a hint about the expected value or shape;
* ``Not answered yet: ...`` when the answer is still the placeholder ``None``.

A check never raises because of the student's answer (a wrong type or a function that
crashes is reported as "Not yet"), so a notebook with unanswered exercises still runs top
to bottom. It does raise if the check itself is called with bad settings (e.g. ``levels=1``).

Import the checks from here (``from pixelcnn_edu import exercises; exercises.check_stack_masks(...)``).
They live in one module per notebook, named by its number: exercise 03.2 is in ``nb03``.

* ``nb01``: autoregressive factorisation;
* ``nb02``: masked convolutions;
* ``nb02b``: the ablation studies (reading a table of seeds);
* ``nb03``: colour masks;
* ``nb04``: the Gated PixelCNN;
* ``nb05``: the discretised logistic mixture;
* ``nb06``: fast sampling, completion and likelihood as a score;
* ``nb07``: pixel transformers;
* ``_common``: what the checks share (the message prefixes, reading and reporting an answer).

The worked solutions, for teachers, are not part of the package: they live in the repository's
``notebooks/solutions/``, so a student's install does not carry them.
"""

from ._common import CORRECT, NOT_YET, UNANSWERED
from .nb01 import check_nll_to_bits_per_dim, check_number_of_conditionals, check_uniform_bits_per_dim
from .nb02 import causal_layer_candidates, check_blind_spot_size, check_causal_layers, check_kept_weights
from .nb02b import check_study_reading
from .nb03 import check_center_inputs, check_center_reads, check_color_mask, check_output_order
from .nb04 import check_layers_to_reach, check_stack_masks, check_whole_row_layers
from .nb05 import check_level_probs, check_param_channels, check_reference_gap
from .nb06 import check_cached_positions, check_repeated_image_auroc, check_temperature_for
from .nb07 import check_attention_share, check_causal_pairs, check_kv_cache_floats

__all__ = [
    "CORRECT", "NOT_YET", "UNANSWERED",
    # notebook 01
    "check_number_of_conditionals", "check_uniform_bits_per_dim", "check_nll_to_bits_per_dim",
    # notebook 02
    "check_kept_weights", "check_blind_spot_size", "check_causal_layers", "causal_layer_candidates",
    # notebook 02b
    "check_study_reading",
    # notebook 03
    "check_color_mask", "check_center_reads", "check_center_inputs", "check_output_order",
    # notebook 04
    "check_stack_masks", "check_layers_to_reach", "check_whole_row_layers",
    # notebook 05
    "check_reference_gap", "check_param_channels", "check_level_probs",
    # notebook 06
    "check_cached_positions", "check_temperature_for", "check_repeated_image_auroc",
    # notebook 07
    "check_causal_pairs", "check_attention_share", "check_kv_cache_floats",
]
