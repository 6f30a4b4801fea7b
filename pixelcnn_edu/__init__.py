"""pixelcnn_edu: the building blocks of a course on PixelCNN-family image models.

Import the modules you need, e.g. ``from pixelcnn_edu import masks, models, sampling, viz``.

``pip install pixelcnn-edu`` brings what the models, sampling, training, the checkpoints, the
embedded digits and the ``pixelcnn-edu`` command need (torch, numpy, tqdm, Pillow). The figures
(``viz``) and widgets (``widgets``) need the ``[notebooks]`` extra (matplotlib, ipywidgets, JupyterLab),
the downloadable datasets the ``[datasets]`` extra (torchvision): ``pip install "pixelcnn-edu[notebooks]"``.
"""

__version__ = "0.3.0"  # the one place the version is written: pyproject.toml reads it from here

__all__ = [
    "checkpoints", "checks", "cli", "data", "exercises", "incremental", "layers", "likelihoods", "masks",
    "models", "profiles", "receptive_field", "recipe", "sampling", "scores", "timing", "train", "viz", "widgets",
]
