"""pixelcnn_edu: the building blocks of a course on PixelCNN-family image models.

Import the modules you need, e.g. ``from pixelcnn_edu import masks, models, sampling, viz``.
"""

__version__ = "0.1.0"

__all__ = [
    "checks", "cli", "data", "exercises", "layers", "likelihoods", "masks", "models",
    "profiles", "receptive_field", "sampling", "train", "viz", "widgets",
]
