"""Pretrained weights: find or download them, verify them, rename their keys, load them strictly.

One job per module (all torch-free at import: the UI asks ``weights_available`` before torch loads):

* ``remap``: ``KEY_MAPS``, ``remap_state_dict``, ``unwrap_checkpoint`` (checkpoint layouts → our names);
* ``strict``: ``check_fit`` and ``load_into`` (all keys, no extras, equal shapes, or a ``WeightsError`` naming
  what does not fit); files are read by ``models.checkpoints.read_checkpoint``, the one reader;
* ``cache``: ``cache_dir`` (``$VISUALISER_CACHE``), checksums, verified stamps, atomic installs;
* ``url`` / ``hub``: downloads (our own byte count; the hub's ``tqdm_class``) with progress;
* ``fetch``: ``fetch_weights`` and ``weights_available`` over embedded, hub and URL weights;
* ``install``: ``install_weights`` for ``python -m visualiser fetch NAME --from FILE`` (offline machines);
* ``messages``: the offline sentence (file, checksum, the command that installs it);
* ``progress``: ``DownloadProgress`` (bytes → ``ProgressFn``), ``TextProgress`` (a terminal), the CLI default;
* ``pretrained``: ``load_pretrained`` (fetch → read → remap → strict load).
"""

from visualiser.models.weights.cache import cache_dir, cached_filename, checksum_matches, file_digest
from visualiser.models.weights.fetch import fetch_weights, weights_available
from visualiser.models.weights.install import Installed, install_weights
from visualiser.models.weights.messages import by_hand
from visualiser.models.weights.pretrained import load_pretrained
from visualiser.models.weights.progress import DownloadProgress, TextProgress, reporting_downloads
from visualiser.models.weights.remap import KEY_MAPS, remap_state_dict, unwrap_checkpoint
from visualiser.models.weights.strict import check_fit, load_into

__all__ = [
    "KEY_MAPS",
    "DownloadProgress",
    "Installed",
    "TextProgress",
    "by_hand",
    "cache_dir",
    "cached_filename",
    "check_fit",
    "checksum_matches",
    "fetch_weights",
    "file_digest",
    "install_weights",
    "load_into",
    "load_pretrained",
    "remap_state_dict",
    "reporting_downloads",
    "unwrap_checkpoint",
    "weights_available",
]
