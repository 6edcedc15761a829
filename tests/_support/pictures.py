"""Helpers to check pictures: the images inlined in a page."""

from __future__ import annotations

import base64
import io
import re

import numpy as np


def inlined_images(html: str):
    """(mime, RGB array) of every base64 image of a page."""
    from PIL import Image

    for mime, data in re.findall(r'src="data:(image/[a-z]+);base64,([^"]+)"', html):
        yield mime, np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def is_real_picture(img: np.ndarray) -> bool:
    """Not blank: pixel values spread, and many distinct colours (a sample of pixels)."""
    return img.std() > 8 and len(np.unique(img.reshape(-1, img.shape[-1])[::97], axis=0)) > 20
