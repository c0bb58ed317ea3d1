"""Data loads offline from the repository's files; bad files give errors that say the fix."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from cnncourse import data


def test_mnist_loads_with_expected_shapes_and_labels():
    x, y = data.load_mnist("test")
    assert x.shape == (10000, 1, 28, 28) and x.dtype == torch.uint8
    assert y.shape == (10000,) and y.dtype == torch.int64
    assert set(y.unique().tolist()) == set(range(10))
    assert 0 < x.float().mean() < 255


def test_normalised_dataset_uses_the_training_statistics():
    images, _ = data.load_mnist("train")
    pixels = images.float() / 255
    assert abs(pixels.mean().item() - data.MNIST_MEAN) < 5e-5
    assert abs(pixels.std().item() - data.MNIST_STD) < 5e-5


def test_torchvision_dataset_matches_the_tensors(tmp_path):
    ds = data.mnist_torchvision("test", root=tmp_path)
    x, _ = data.load_mnist("test")
    img, label = ds[0]
    assert np.array_equal(np.asarray(img), x[0, 0].numpy())
    assert label == data.load_mnist("test")[1][0].item()
    assert len(ds) == 10000


def _copy_mnist(tmp_path):
    for name in data.MNIST_FILES:
        shutil.copy(data.MNIST_DIR / name, tmp_path / name)
    return tmp_path


def test_missing_file_names_the_file_and_the_fix(tmp_path):
    folder = _copy_mnist(tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DataFileError, match=r"t10k-labels-idx1-ubyte\.gz is missing.*git checkout"):
        data.load_mnist("test", folder)


def test_corrupt_file_is_detected_by_md5(tmp_path):
    folder = _copy_mnist(tmp_path)
    path = folder / "t10k-images-idx3-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[100] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(data.DataFileError, match=r"t10k-images-idx3-ubyte\.gz is corrupt: md5"):
        data.load_mnist("test", folder)


def test_photos_load_offline_in_both_layouts():
    cat = data.load_photo("chelsea")
    assert cat.ndim == 3 and cat.shape[2] == 3 and cat.dtype == np.uint8
    gray = data.load_photo("chelsea", gray=True)
    assert gray.shape == cat.shape[:2] and gray.dtype == np.uint8
    t = data.photo_tensor("chelsea")
    assert t.shape == (1, 3, *cat.shape[:2])
    assert torch.equal((t[0, :, 5, 7] * 255).round().to(torch.uint8), torch.from_numpy(cat[5, 7]))
    with pytest.raises(ValueError, match="unknown photo"):
        data.load_photo("lena")


@pytest.mark.parametrize("name", data.PHOTOS)
def test_photos_are_the_pixels_scikit_image_reads(name):
    import skimage.data

    assert np.array_equal(data.load_photo(name), getattr(skimage.data, name)())
