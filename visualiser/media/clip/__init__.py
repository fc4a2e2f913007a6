"""Clips to a few evenly spaced, downscaled RGB frames, without ever decoding a long file whole.

* ``load``: ``load_clip``, which hands each kind of source to its reader (arrays it samples itself);
* ``video``: video files through PyAV: the safe container, seeking in long indexed files, one bounded pass
  otherwise;
* ``images``: a still image as a 1-frame clip (EXIF orientation, like ``load_image``), animated GIF/WebP/PNG
  sampled frame by frame;
* ``frames``: the ``Clip`` result, frame sizing, and which frames to keep (``select_evenly``, the bounded
  reservoir, the decode-time budget).
"""

from visualiser.media.clip.frames import Clip, select_evenly
from visualiser.media.clip.load import load_clip

__all__ = ["Clip", "load_clip", "select_evenly"]
