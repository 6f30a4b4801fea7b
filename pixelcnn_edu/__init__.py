"""pixelcnn_edu: the building blocks of a course on PixelCNN-family image models.

Import the modules you need, e.g. ``from pixelcnn_edu import masks, models, sampling, viz``.
"""

__version__ = "0.2.0"

__all__ = [
    "checkpoints", "checks", "cli", "data", "exercises", "incremental", "layers", "likelihoods", "masks",
    "models", "profiles", "receptive_field", "recipe", "sampling", "scores", "timing", "train", "viz", "widgets",
]
