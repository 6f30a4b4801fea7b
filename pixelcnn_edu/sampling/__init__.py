"""Drawing images from an autoregressive model, one sub-pixel at a time.

The loop is the definition of the model: for every position in raster order (rows, columns, then
channels R, G, B), read the distribution of the next sub-pixel given the partial image, draw a value
and write it in. ``cache=False`` does this literally, one full pass of the network per sub-pixel (the
naive reference). ``cache=True`` (the default) gets the same distributions from per-layer caches
(:mod:`pixelcnn_edu.incremental`): each pass computes only the current pixel (and, once per row, two
whole rows) from the buffers of earlier activations. Every entry point (``sample``, ``sample_steps``,
``sampling_trace``, ``complete``, the widgets and the CLI) runs the one generator in ``loop``, so they
all draw the same images for the same generator, cached or not.

    loop        sample, sample_steps, can_cache, SamplingStep: the loop itself
    traces      sampling_trace, scoring_trace, SamplingTrace: recorded steps for the widgets
    completion  complete, completion_trace, check_known: fill in the unknown part of an image
    agreement   agreement, positions_per_step, Agreement: the cached loop checked against the naive one
"""

from .agreement import Agreement, agreement, positions_per_step
from .completion import check_known, complete, completion_trace
from .loop import SamplingStep, can_cache, sample, sample_steps
from .traces import SamplingTrace, sampling_trace, scoring_trace

__all__ = [
    "Agreement", "SamplingStep", "SamplingTrace", "agreement", "can_cache", "check_known", "complete",
    "completion_trace", "positions_per_step", "sample", "sample_steps", "sampling_trace", "scoring_trace",
]
