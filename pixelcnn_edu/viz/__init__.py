"""Figures for the course: images, masks, colour connectivity, receptive fields, distributions, curves.

Every ``plot_*`` function (and ``image_grid``) returns a ``matplotlib.figure.Figure`` built
without pyplot, so a notebook cell that ends with the call shows the figure exactly once and
no figure stays open between cells. Pass ``ax=`` to draw into an axes of your own instead.

The ``*_to_png`` functions return PNG bytes for the widgets: a widget swaps the bytes of an
``ipywidgets.Image`` on every slider move instead of redrawing a figure. ``image_to_png`` and
``receptive_field_to_png`` use numpy and PIL only (no figure), so they are fast.

Images are float tensors with values in [0, 1] (``level / (levels - 1)``); numpy arrays are
accepted too. Nothing here imports torchvision.

Import everything from here (``from pixelcnn_edu import viz; viz.image_grid(...)``); the code
lives in one module per topic:

* ``images``: image grids, rows of images, a drawing's steps with their distributions, PNG files and bytes of images;
* ``mask_plots``: convolution masks (``pixelcnn_edu.masks`` builds them) and token-to-token masks;
* ``fields``: receptive fields, their pixel classes (``FIELD_CLASSES``), the dependents and attention fields;
* ``color``: colour connectivity (R -> G -> B), the centre 3x3 picture, channel receptive fields;
* ``curves``: distributions over levels, probability maps, training history, the discretised
  logistic, line plots, conditional tables, score histograms;
* ``gated_diagram``: ``plot_gated_block``, one Gated PixelCNN layer as boxes and arrows;
* ``unet_diagram``: ``plot_unet``, PixelCNN++'s streams through its U-Net;
* ``source``: ``show_source``, the package's own code in a notebook;
* ``_common``: what they share: colours, ``CourseFigure``, ``figure_to_png``, input checks.
"""

try:
    import matplotlib  # noqa: F401
except ModuleNotFoundError as err:  # a core install: the figures come with the course's extra
    raise ModuleNotFoundError(
        'pixelcnn_edu.viz draws with matplotlib, which the notebooks extra installs: pip install "pixelcnn-edu[notebooks]"'
    ) from err

from ._common import (
    BAR_COLOR,
    GRID_RGB,
    GRID_RGB_HEX,
    HIGHLIGHT_COLOR,
    HIGHLIGHT_RGB,
    CourseFigure,
    figure_to_png,
)
from .color import (
    COLOR_TINTS,
    CONNECTED_COLOR,
    OTHER_TINT,
    channel_field_classes,
    plot_center_connections,
    plot_channel_receptive_fields,
    plot_connectivities,
    plot_connectivity,
)
from .curves import (
    BIN_COLORS,
    EDGE_COLOR,
    distribution_to_png,
    plot_conditional_map,
    plot_curves,
    plot_discretized_logistic,
    plot_distribution,
    plot_history,
    plot_probability_map,
    plot_score_histograms,
)
from .fields import (
    BLIND,
    COLOR_FIELD_CLASSES,
    FIELD_CLASSES,
    FUTURE,
    LEAK,
    READ_TARGET,
    REACHED,
    TARGET,
    UNREACHED,
    describe_receptive_field,
    field_classes,
    plot_attention_field,
    plot_dependents,
    plot_receptive_field,
    plot_receptive_field_comparison,
    plot_receptive_fields,
    plot_stack_fields,
    receptive_field_to_png,
)
from .gated_diagram import plot_gated_block
from .images import image_grid, image_to_png, plot_image_rows, plot_steps_with_distributions, save_image_grid, tile_images
from .mask_plots import plot_mask, plot_masks, plot_token_masks
from .source import show_source
from .unet_diagram import plot_unet

__all__ = [
    # _common
    "BAR_COLOR", "GRID_RGB", "GRID_RGB_HEX", "HIGHLIGHT_COLOR", "HIGHLIGHT_RGB", "CourseFigure", "figure_to_png",
    # images
    "image_grid", "image_to_png", "plot_image_rows", "plot_steps_with_distributions", "save_image_grid", "tile_images",
    # mask_plots
    "plot_mask", "plot_masks", "plot_token_masks",
    # fields
    "BLIND", "COLOR_FIELD_CLASSES", "FIELD_CLASSES", "FUTURE", "LEAK", "READ_TARGET", "REACHED", "TARGET", "UNREACHED",
    "describe_receptive_field", "field_classes", "plot_attention_field", "plot_dependents", "plot_receptive_field",
    "plot_receptive_field_comparison", "plot_receptive_fields", "plot_stack_fields", "receptive_field_to_png",
    # color
    "COLOR_TINTS", "CONNECTED_COLOR", "OTHER_TINT", "channel_field_classes", "plot_center_connections",
    "plot_channel_receptive_fields", "plot_connectivities", "plot_connectivity",
    # curves
    "BIN_COLORS", "EDGE_COLOR", "distribution_to_png", "plot_conditional_map", "plot_curves",
    "plot_discretized_logistic", "plot_distribution", "plot_history", "plot_probability_map", "plot_score_histograms",
    # gated_diagram
    "plot_gated_block",
    # unet_diagram
    "plot_unet",
    # source
    "show_source",
]
