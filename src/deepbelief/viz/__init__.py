"""Pictures: image tiles, matplotlib figures and charts, animations, probes, the gallery of a model.

The ``plot_*`` functions and :func:`make_animation` write one file each and return its path;
the probes (:func:`repair`, :func:`unit_probes`, ...) return arrays of pixels. Figures need
matplotlib (``pip install 'deepbelief[plot]'``); tiles and probes need only NumPy and Pillow.
"""

from .animation import make_animation
from .charts import plot_codes_2d, plot_codes_side_by_side, plot_confusion_matrix, plot_training_curves
from .figures import plot_image_grid, plot_image_rows, plot_pair
from .gallery import model_pictures
from .probes import bias_only_reconstruction, damage, layer_reconstructions, repair, unit_probes
from .tiles import save_png, tile_images

__all__ = [
    # arrays of pixels
    "tile_images", "save_png",
    # figures and charts (matplotlib)
    "plot_image_grid", "plot_image_rows", "plot_pair", "plot_training_curves", "plot_codes_2d",
    "plot_codes_side_by_side", "plot_confusion_matrix", "make_animation", "model_pictures",
    # probes: what a model has learned
    "bias_only_reconstruction", "unit_probes", "layer_reconstructions", "repair", "damage",
]
