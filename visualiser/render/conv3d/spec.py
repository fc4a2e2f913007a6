"""The one description of a 3D convolution the animation needs: weights plus geometry.

``Conv3dSpec`` holds numpy arrays only, so the animation never touches torch; a real layer is
turned into one by ``visualiser.pipeline.conv3d.kernel_from_conv3d``. Validation happens here, at the edge, so that
everything downstream can trust the shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from visualiser.errors import VisualiserError

Triple = tuple[int, int, int]


@dataclass(frozen=True, eq=False)
class Conv3dSpec:
    """Weights and geometry of one ``Conv3d`` layer.

    Attributes:
        weight: ``(K, C, kt, kh, kw)`` float32, K kernel groups of C kernels each (the seed tutorial's wording).
        bias: ``(K,)`` float32 or None.
        stride: per axis (t, h, w).
        padding: zero padding per axis (t, h, w), applied on both sides as ``torch.nn.Conv3d`` does.
        dilation: per axis (t, h, w).
        source: human label shown in the animation, e.g. ``"r3d_18 stem"``.
    """

    weight: np.ndarray
    bias: np.ndarray | None
    stride: Triple = (1, 1, 1)
    padding: Triple = (0, 0, 0)
    dilation: Triple = (1, 1, 1)
    source: str = "teaching:temporal_difference"

    def __post_init__(self) -> None:
        weight = np.asarray(self.weight, dtype=np.float32)
        if weight.ndim != 5 or 0 in weight.shape:
            raise VisualiserError(
                f"A 3D convolution weight must have shape (K, C, kt, kh, kw) with no empty axis; got {weight.shape}."
            )
        if not np.all(np.isfinite(weight)):
            raise VisualiserError("The 3D convolution weight contains NaN or infinite values.")
        object.__setattr__(self, "weight", weight)
        if self.bias is not None:
            bias = np.asarray(self.bias, dtype=np.float32).reshape(-1)
            if bias.shape != (weight.shape[0],):
                raise VisualiserError(
                    f"The bias must have one value per kernel group ({weight.shape[0]}); got shape {bias.shape}."
                )
            object.__setattr__(self, "bias", bias)
        object.__setattr__(self, "stride", _triple(self.stride, "stride", minimum=1))
        object.__setattr__(self, "padding", _triple(self.padding, "padding", minimum=0))
        object.__setattr__(self, "dilation", _triple(self.dilation, "dilation", minimum=1))

    @property
    def out_channels(self) -> int:
        """K, the number of kernel groups (= output channels)."""
        return int(self.weight.shape[0])

    @property
    def in_channels(self) -> int:
        """C, the number of kernels in each group (= input channels)."""
        return int(self.weight.shape[1])

    @property
    def kernel_size(self) -> Triple:
        """(kt, kh, kw)."""
        kt, kh, kw = self.weight.shape[2:]
        return int(kt), int(kh), int(kw)

    @property
    def extent(self) -> Triple:
        """Cells one kernel spans per axis once dilation spreads its taps: d·(k−1) + 1."""
        return tuple(d * (k - 1) + 1 for d, k in zip(self.dilation, self.kernel_size, strict=True))  # type: ignore[return-value]


def _triple(value: int | Sequence[int], name: str, minimum: int) -> Triple:
    """Accept an int or three ints, as torch does, and reject values torch would reject."""
    items = (value, value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(items) != 3:
        raise VisualiserError(f"The {name} must be one integer or three (t, h, w); got {value!r}.")
    try:
        ints = tuple(int(v) for v in items)
    except (TypeError, ValueError) as exc:
        raise VisualiserError(f"The {name} must be integers; got {value!r}.") from exc
    if any(v < minimum for v in ints):
        raise VisualiserError(f"Every {name} value must be at least {minimum}; got {ints}.")
    return ints  # type: ignore[return-value]
