"""Data with no network: MNIST from the files kept in this repository, and photos.

MNIST (LeCun, Cortes, Burges; CC BY-SA 3.0) is stored as the four original IDX files,
gzip-compressed, in ``data/mnist/`` at the top of the repository (see its README for the
provenance). The students' wheel (``make student``) carries the same files, and their
README, as package data in ``cnncourse/_data/mnist/``, which is used when present. Every
file is checked against its md5 before use; a missing or corrupt file raises
:class:`DataFileError`, which names the file and says how to fix it.

The photos are the CC0 images that scikit-image ships (``astronaut``, ``camera``,
``chelsea``, ``coffee``, ``coins``), which load offline.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
MNIST_DIR = REPO_ROOT / "data" / "mnist"
#: MNIST inside the installed package: only the students' wheel has it (tools/student_dist.py).
PACKAGE_MNIST_DIR = Path(__file__).resolve().parent / "_data" / "mnist"

#: md5 of the gzip files in ``data/mnist`` (they differ from torchvision's, see README).
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "c7dfcf1bfd3481a40f7b3aedbdbd083c",
    "train-labels-idx1-ubyte.gz": "d289298a347a2cc65765a3c81043ba88",
    "t10k-images-idx3-ubyte.gz": "ecff87aa27c74fbc2c1f97e89c19221d",
    "t10k-labels-idx1-ubyte.gz": "a38049bc042dc6e683842a84160daae1",
}
_SPLIT_PREFIX = {"train": "train", "test": "t10k"}

#: Mean and standard deviation of the MNIST training pixels scaled to [0, 1].
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081

PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "coins")


class DataFileError(RuntimeError):
    """A data file is missing or corrupt; the message names the file and the fix."""


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def installed_with_data() -> bool:
    """True when this is the students' wheel, which carries MNIST as package data."""
    return PACKAGE_MNIST_DIR.is_dir()


def mnist_dir() -> Path:
    """Where the MNIST files are: ``$CNNCOURSE_MNIST_DIR``, else the package's own copy (the
    students' wheel), else ``data/mnist`` in the repository."""
    if os.environ.get("CNNCOURSE_MNIST_DIR"):
        return Path(os.environ["CNNCOURSE_MNIST_DIR"])
    return PACKAGE_MNIST_DIR if installed_with_data() else MNIST_DIR


def cache_dir() -> Path:
    """Where derived data (decompressed MNIST) is written: ``data/cache`` in the repository
    (git ignores it), or the user's cache folder for the students' wheel, whose
    site-packages may be read-only."""
    if not installed_with_data():
        return REPO_ROOT / "data" / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cnncourse"


def verify_mnist(directory: Path | str | None = None) -> dict[str, Path]:
    """Check that the four MNIST files exist and have the expected md5; return their paths."""
    directory = Path(directory) if directory is not None else mnist_dir()
    paths = {}
    for name, expected in MNIST_FILES.items():
        path = directory / name
        if directory.resolve() == PACKAGE_MNIST_DIR:
            fix = "Reinstall the course package: pip install --force-reinstall cnncourse-*.whl"
        else:
            fix = (
                f"Restore it from git (`git checkout -- data/mnist/{name}`) or copy the original "
                f"from ../shared/data/mnist/{name}."
            )
        if not path.is_file():
            raise DataFileError(f"MNIST file {path} is missing. {fix}")
        actual = _md5(path)
        if actual != expected:
            raise DataFileError(
                f"MNIST file {path} is corrupt: md5 {actual}, expected {expected}. {fix}"
            )
        paths[name] = path
    return paths


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic >> 8 != 0x08:  # 0x08: unsigned byte
        raise DataFileError(f"{path} is not an unsigned-byte IDX file (magic {magic:#x}).")
    ndim = magic & 0xFF
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    array = np.frombuffer(data, dtype=np.uint8, offset=offset)
    if array.size != int(np.prod(shape)):
        raise DataFileError(f"{path} is truncated: expected {shape}, found {array.size} bytes.")
    return array.reshape(shape)


def load_mnist(split: str = "train", directory: Path | str | None = None):
    """MNIST as tensors: ``(images, labels)``, images ``uint8`` of shape (N, 1, 28, 28).

    ``split`` is ``"train"`` (60,000 images) or ``"test"`` (10,000 images).
    """
    if split not in _SPLIT_PREFIX:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    paths = verify_mnist(directory)
    prefix = _SPLIT_PREFIX[split]
    images = _read_idx(paths[f"{prefix}-images-idx3-ubyte.gz"])
    labels = _read_idx(paths[f"{prefix}-labels-idx1-ubyte.gz"])
    return torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def mnist_tensor_dataset(split: str = "train", normalize: bool = True, directory=None):
    """A :class:`torch.utils.data.TensorDataset` of float images in [0, 1] (or normalised)."""
    images, labels = load_mnist(split, directory)
    x = images.float() / 255.0
    if normalize:
        x = (x - MNIST_MEAN) / MNIST_STD
    return torch.utils.data.TensorDataset(x, labels)


def mnist_torchvision(split: str = "train", transform=None, root: Path | str | None = None,
                      directory=None):
    """torchvision's ``datasets.MNIST`` over the repository's files, with no download.

    The verified files are decompressed once into ``root/MNIST/raw`` (by default
    :func:`cache_dir`: ``data/cache`` in the repository, which git ignores).
    """
    from torchvision import datasets

    paths = verify_mnist(directory)
    root = Path(root) if root is not None else cache_dir()
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, path in paths.items():
        target = raw / name[: -len(".gz")]
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            with gzip.open(path, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            tmp.replace(target)
    return datasets.MNIST(str(root), train=(split == "train"), transform=transform,
                          download=False)


def load_photo(name: str = "camera", gray: bool = False) -> np.ndarray:
    """One of scikit-image's CC0 photos as a uint8 array: (H, W) or (H, W, 3) (HWC).

    A fresh copy each call (decoded once per process: the grading checks crop them often)."""
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; choose one of {', '.join(PHOTOS)}")
    return _decoded_photo(name, gray).copy()


@functools.lru_cache(maxsize=16)
def _decoded_photo(name: str, gray: bool) -> np.ndarray:
    import skimage.color
    import skimage.data
    import skimage.util
    from PIL import Image

    # The PNG that skimage.data.<name>() reads, decoded by Pillow: the same pixels without
    # skimage.io, which pulls in SciPy and imageio (0.8 s and 150 MiB of address space in
    # every graded kernel that shows a photo; tests/test_data.py compares the two).
    with Image.open(Path(skimage.data.__file__).parent / f"{name}.png") as png:
        image = np.asarray(png).copy()
    if gray and image.ndim == 3:
        image = skimage.util.img_as_ubyte(skimage.color.rgb2gray(image))
    image.setflags(write=False)
    return image


def photo_tensor(name: str = "camera", gray: bool = False, dtype=torch.float32) -> torch.Tensor:
    """A photo as a (1, C, H, W) tensor in [0, 1], ready for ``F.conv2d``."""
    image = torch.from_numpy(load_photo(name, gray).copy())
    if image.ndim == 2:
        image = image.unsqueeze(-1)
    return image.permute(2, 0, 1).unsqueeze(0).to(dtype) / 255.0
