"""KernelPlayground: a photo, a kernel, the padding mode and the output (lecture L05, L25)."""

from __future__ import annotations

import base64

import numpy as np
import traitlets

from cnncourse.widgets._base import CourseWidget

MODES = ("zeros", "reflect", "replicate", "circular", "valid")


def small_photo(name: str = "chelsea", height: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """One of the course photos, downsampled to ``height`` rows: (RGB uint8 HWC, gray uint8 HW).

    Small, so that the widget's embedded state stays small in the static book.
    """
    from skimage.color import rgb2gray
    from skimage.transform import resize
    from skimage.util import img_as_ubyte

    from cnncourse.data import load_photo

    image = load_photo(name)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    h, w = image.shape[:2]
    width = max(1, round(w * height / h))
    rgb = img_as_ubyte(resize(image, (height, width), anti_aliasing=True))
    gray = img_as_ubyte(rgb2gray(rgb))
    return rgb, gray


def torch_convolve(image: np.ndarray, kernel, mode: str) -> np.ndarray:
    """Each channel of ``image`` (HW or HWC, any numbers) convolved with ``kernel``, as
    ``nn.Conv2d(C, C, k, padding="same", padding_mode=mode, groups=C)`` does (``mode="valid"``:
    no padding). Returns float64, HW or HWC like the input."""
    import warnings

    import torch
    from torch import nn

    x = torch.as_tensor(np.array(image), dtype=torch.float64)
    gray = x.dim() == 2
    x = (x.unsqueeze(-1) if gray else x).permute(2, 0, 1).unsqueeze(0)
    k = torch.as_tensor(kernel, dtype=torch.float64)
    c = x.shape[1]
    conv = nn.Conv2d(c, c, tuple(k.shape), groups=c, bias=False, dtype=torch.float64,
                     padding=0 if mode == "valid" else "same",
                     padding_mode="zeros" if mode == "valid" else mode)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "padding='same' with even kernel lengths ..."
        conv.weight.copy_(k.expand(c, 1, *k.shape))
        y = conv(x)[0].permute(1, 2, 0)
    return (y[..., 0] if gray else y).numpy()


class KernelPlayground(CourseWidget):
    """Convolve a photo with a kernel: the lecture's presets or your own (up to 7×7), one of
    the four padding modes of ``nn.Conv2d`` (or none), grayscale or each RGB channel on its
    own. Shows the output, the kernel's rank and, when it is rank 1, its separable factors,
    and, for the pixel under the pointer (or chosen with the arrow keys), the arithmetic: the
    input under the window, the kernel, the products and their sum, the output value. Weights
    are typed as decimals or fractions (1/9); anything else is refused with a message.
    """

    _name = "kernel_playground"

    rgb = traitlets.Unicode().tag(sync=True)   # base64 of the uint8 pixels, HWC
    gray = traitlets.Unicode().tag(sync=True)  # base64 of the uint8 pixels, HW
    height = traitlets.Int().tag(sync=True)
    width = traitlets.Int().tag(sync=True)
    presets = traitlets.Dict().tag(sync=True)
    preset = traitlets.Unicode("sharpen").tag(sync=True)
    kernel = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    padding_mode = traitlets.Enum(MODES, "zeros").tag(sync=True)
    color = traitlets.Enum(("gray", "rgb"), "gray").tag(sync=True)
    display = traitlets.Enum(("clip", "rescale"), "clip").tag(sync=True)
    scale = traitlets.Int(3).tag(sync=True)

    def __init__(self, photo: str = "chelsea", height: int = 64, preset: str = "sharpen",
                 kernel=None, padding_mode: str = "zeros", color: str = "gray",
                 display: str = "clip", scale: int = 3, **kwargs):
        from cnncourse.lecture import KERNELS

        presets = {"identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]], **KERNELS}
        presets = {k: [[float(x) for x in row] for row in v] for k, v in presets.items()}
        if kernel is None:
            kernel = presets[preset]
        else:
            preset = "edited"
        kernel = [[float(x) for x in row] for row in kernel]
        if not (1 <= len(kernel) <= 7 and 1 <= len(kernel[0]) <= 7):
            raise ValueError("the kernel must be at most 7×7")
        rgb, gray = small_photo(photo, height)
        super().__init__(rgb=base64.b64encode(rgb.tobytes()).decode(),
                         gray=base64.b64encode(gray.tobytes()).decode(),
                         height=rgb.shape[0], width=rgb.shape[1], presets=presets, preset=preset,
                         kernel=kernel, padding_mode=padding_mode, color=color, display=display,
                         scale=scale, **kwargs)

    def image(self) -> np.ndarray:
        """The photo the widget shows: (H, W) uint8 for gray, (H, W, 3) for rgb."""
        if self.color == "gray":
            return np.frombuffer(base64.b64decode(self.gray), np.uint8).reshape(self.height, self.width)
        return np.frombuffer(base64.b64decode(self.rgb), np.uint8).reshape(self.height, self.width, 3)

    def output(self) -> np.ndarray:
        """The output for the current settings, computed with PyTorch (float64)."""
        return torch_convolve(self.image(), self.kernel, self.padding_mode)

    def fallback(self):
        """A static figure: the photo, the output and the kernel."""
        import matplotlib.pyplot as plt

        out = self.output()
        if self.display == "clip":
            shown = np.clip(out, 0, 255) / 255
        else:
            shown = (out - out.min()) / max(out.max() - out.min(), 1e-12)
        fig, axes = plt.subplots(1, 3, figsize=(9, 2.8), gridspec_kw={"width_ratios": [3, 3, 1.4]})
        cmap = "gray" if self.color == "gray" else None
        axes[0].imshow(self.image(), cmap=cmap, vmin=0, vmax=255)
        axes[0].set_title("input")
        axes[1].imshow(shown, cmap=cmap, vmin=0, vmax=1)
        axes[1].set_title(f"output ({self.padding_mode})")
        k = np.asarray(self.kernel)
        axes[2].imshow(k, cmap="coolwarm", vmin=-abs(k).max(), vmax=abs(k).max())
        for (a, b), v in np.ndenumerate(k):
            axes[2].text(b, a, f"{v:.3g}", ha="center", va="center", fontsize=8)
        axes[2].set_title(f"kernel: {self.preset}")
        for ax in axes:
            ax.set_axis_off()
        fig.tight_layout()
        return fig
