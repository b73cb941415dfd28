"""Animations: frames (PNG files or arrays) into a GIF, and an MP4 when ffmpeg is installed."""

import io
import os
import shutil
import subprocess
import tempfile
import warnings
from numbers import Real
from pathlib import Path

import numpy as np
from PIL import Image

from .._core.counts import is_count
from .._core.files import atomic_write_bytes


def _frame_image(frame, scale):
    if isinstance(frame, (str, os.PathLike)):
        if not Path(frame).is_file():
            raise FileNotFoundError(f"animation frame not found: {frame}")
        with Image.open(frame) as image:
            image = image.convert("L" if image.mode in ("L", "LA", "I", "1") else "RGB")
    else:
        array = np.asarray(frame)
        if array.dtype != np.uint8:
            array = (np.clip(array.astype(float), 0, 1) * 255).round().astype(np.uint8)
        if array.ndim not in (2, 3):
            raise ValueError(
                f"an array frame must be 2-D (grey) or 3-D (RGB), got shape {array.shape}."
            )
        image = Image.fromarray(array)
    if scale != 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    return image


def _same_size(images):
    """Put every frame on a canvas of the largest size (top left), in one colour mode."""
    mode = "L" if all(image.mode == "L" for image in images) else "RGB"
    width, height = max(i.width for i in images), max(i.height for i in images)
    background = (255, 255, 255) if mode == "RGB" else 0
    framed = []
    for image in images:
        image = image.convert(mode)
        if image.size != (width, height):
            canvas = Image.new(mode, (width, height), background)
            canvas.paste(image, (0, 0))
            image = canvas
        framed.append(image)
    return framed


def make_animation(frames, path, fps=5, scale=1):
    """Join frames into a looping GIF, and an MP4 beside it when ffmpeg is installed.

    Parameters
    ----------
    frames : list of (str or Path or ndarray)
        PNG files, or arrays: 2-D grey (floats in [0, 1] or uint8) or (height, width, 3) RGB,
        e.g. grids from :func:`deepbelief.viz.tile_images` after every epoch. Frames of
        different sizes are placed on a canvas of the largest. Pillow merges a frame identical
        to the one before it into a longer frame.
    path : str or Path
        The GIF to write; the MP4 gets the same name with suffix ``.mp4``.
    fps : float, default=5
        Frames per second.
    scale : int, default=1
        Enlarge every frame this many times (nearest neighbour), e.g. for 8x8 digits.

    Returns
    -------
    paths : list of pathlib.Path
        The GIF, then the MP4 if one was written.
    """
    if len(frames) == 0:
        raise ValueError("frames is empty; pass at least one PNG path or image array.")
    if not isinstance(fps, Real) or fps <= 0:
        raise ValueError(f"fps must be a positive number, got {fps!r}.")
    if not is_count(scale, 1):
        raise ValueError(f"scale must be a positive integer, got {scale!r}.")
    images = _same_size([_frame_image(frame, scale) for frame in frames])
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                   duration=max(20, round(1000 / fps)), loop=0)
    written = [atomic_write_bytes(path, buffer.getvalue())]
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        mp4 = _write_mp4(ffmpeg, images, Path(path).with_suffix(".mp4"), fps)
        if mp4 is not None:
            written.append(mp4)
    return written


def _write_mp4(ffmpeg, images, path, fps):
    """H.264 MP4 via ffmpeg (sides rounded down to even); on failure warn and return None."""
    with tempfile.TemporaryDirectory() as tmp:
        for i, image in enumerate(images):
            image.convert("RGB").save(os.path.join(tmp, f"frame_{i:05d}.png"))
        out = os.path.join(tmp, "out.mp4")
        command = [ffmpeg, "-y", "-loglevel", "error", "-framerate", str(fps),
                   "-i", os.path.join(tmp, "frame_%05d.png"),
                   "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2:flags=neighbor",
                   "-c:v", "libx264", "-pix_fmt", "yuv420p", out]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 or not os.path.isfile(out):
            warnings.warn(f"ffmpeg could not write {path} (only the GIF was written): "
                          f"{result.stderr.strip() or f'exit code {result.returncode}'}",
                          RuntimeWarning, stacklevel=3)
            return None
        with open(out, "rb") as f:
            return atomic_write_bytes(path, f.read())
