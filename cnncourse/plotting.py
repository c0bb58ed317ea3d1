"""Figures that read well in the book's light and dark themes."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt

from cnncourse import figure_text

NEUTRAL = "#808080"  # readable on white and on near-black


def use_book_style() -> None:
    """Transparent figure backgrounds and mid-grey text, axes and ticks; in IPython, every
    figure is also drawn in each of the book's languages (:mod:`cnncourse.figure_text`)."""
    mpl.rcParams.update({
        "figure.facecolor": "none",
        "axes.facecolor": "none",
        "savefig.facecolor": "none",
        "savefig.transparent": True,
        "text.color": NEUTRAL,
        "axes.labelcolor": NEUTRAL,
        "axes.edgecolor": NEUTRAL,
        "xtick.color": NEUTRAL,
        "ytick.color": NEUTRAL,
        "axes.titlecolor": NEUTRAL,
        "legend.facecolor": "none",
        "legend.labelcolor": NEUTRAL,
        "figure.dpi": 100,
        "font.size": 10,
    })
    figure_text.install()


def show_images(images, titles=None, cmap="gray", ncols=None, size=2.4, vmin=None, vmax=None):
    """Show a row (or grid) of images without ticks; returns the figure."""
    images = list(images)
    n = len(images)
    ncols = ncols or n
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax)
            if titles is not None:
                ax.set_title(titles[i])
    fig.tight_layout()
    return fig
