"""Clips to a few evenly spaced, downscaled RGB frames, without ever decoding a long file whole.

One job per module:

* ``load``: ``load_clip``, which hands each kind of source to its reader;
* ``video``: video files through PyAV, seeking in long indexed files, one bounded pass otherwise;
* ``container``: opening a container safely (whitelisted demuxers, ``file`` protocol only) and its headers;
* ``images``: a still image as a 1-frame clip (EXIF orientation, like ``load_image``), animated GIF/WebP/PNG
  sampled frame by frame;
* ``arrays``: (T, H, W, 3) uint8 arrays;
* ``probe``: ``probe_clip``, a description from the headers and the first frame;
* ``sampling``: ``select_evenly``, the bounded reservoir and the decode-time budget;
* ``frames``: the ``Clip`` result and frame sizing.
"""

from visualiser.media.clip.frames import Clip
from visualiser.media.clip.load import load_clip
from visualiser.media.clip.probe import probe_clip
from visualiser.media.clip.sampling import select_evenly

__all__ = ["Clip", "load_clip", "probe_clip", "select_evenly"]
