"""PixelExplorer: an image and, under the pointer, the integers it is made of (lecture L01)."""

from __future__ import annotations

import numpy as np
import traitlets

from cnncourse.widgets._base import CourseWidget, draw_number_grid


class PixelExplorer(CourseWidget):
    """Show an image (H×W grayscale or H×W×3 colour, uint8) and the numbers under the pointer.

    Moving the pointer over the picture selects a ``crop``×``crop`` window whose values are
    shown as a table, for the chosen channel. ``row`` and ``col`` (the window's top-left
    corner) and ``channel`` are synced with Python.
    """

    _name = "pixel_explorer"

    pixels = traitlets.List(traitlets.Int()).tag(sync=True)
    height = traitlets.Int().tag(sync=True)
    width = traitlets.Int().tag(sync=True)
    channels = traitlets.Int().tag(sync=True)
    crop = traitlets.Int(8).tag(sync=True)
    scale = traitlets.Int(3).tag(sync=True)
    row = traitlets.Int(0).tag(sync=True)
    col = traitlets.Int(0).tag(sync=True)
    channel = traitlets.Unicode("gray").tag(sync=True)

    def __init__(self, image: np.ndarray, crop: int = 8, scale: int = 3, row: int = 0,
                 col: int = 0, **kwargs):
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise ValueError("image must be a uint8 array of shape (H, W) or (H, W, 3)")
        h, w = image.shape[:2]
        c = 1 if image.ndim == 2 else image.shape[2]
        super().__init__(pixels=image.reshape(-1).tolist(), height=h, width=w, channels=c,
                         crop=crop, scale=scale, row=row, col=col,
                         channel="gray" if c == 1 else "rgb", **kwargs)

    def window(self) -> np.ndarray:
        """The values the widget shows now, as an array (crop×crop, or crop×crop×3)."""
        image = np.asarray(self.pixels, dtype=np.uint8).reshape(
            (self.height, self.width) if self.channels == 1 else (self.height, self.width, self.channels))
        block = image[self.row:self.row + self.crop, self.col:self.col + self.crop]
        if self.channels == 3 and self.channel in "rgb" and len(self.channel) == 1:
            block = block[..., "rgb".index(self.channel)]
        return block

    def fallback(self):
        """A static figure for readers without JavaScript: the picture with the window
        marked, and the window's numbers (first channel shown for colour images)."""
        import matplotlib.pyplot as plt

        image = np.asarray(self.pixels, dtype=np.uint8).reshape(
            (self.height, self.width) if self.channels == 1 else (self.height, self.width, self.channels))
        block = self.window()
        if block.ndim == 3:
            block = block[..., 0]
        fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.5))
        left.imshow(image, cmap="gray" if self.channels == 1 else None)
        left.add_patch(plt.Rectangle((self.col - 0.5, self.row - 0.5), self.crop, self.crop,
                                     fill=False, color="red", lw=1.5))
        left.axis("off")
        draw_number_grid(right, block.tolist(),
                         title="" if self.channels == 1 else "red channel")
        right.axis("off")
        right.set_title(f"rows {self.row}-{self.row + self.crop - 1}, "
                        f"columns {self.col}-{self.col + self.crop - 1}"
                        + ("" if self.channels == 1 else ", red channel"))
        fig.tight_layout()
        return fig
