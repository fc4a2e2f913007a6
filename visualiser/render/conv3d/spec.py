"""The one description of a 3D convolution the animation needs: weights plus geometry.

``Conv3dSpec`` holds numpy arrays only, so the animation never touches torch; a real layer is
turned into one by :func:`kernel_from_conv3d`. Validation happens here, at the edge, so that
everything downstream can trust the shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


def kernel_from_conv3d(
    module_or_weight: Any,
    bias: Any = None,
    stride: int | Sequence[int] = (1, 1, 1),
    padding: int | Sequence[int] = (0, 0, 0),
    dilation: int | Sequence[int] = (1, 1, 1),
    source: str = "",
) -> Conv3dSpec:
    """Build a spec from a ``torch.nn.Conv3d`` or from a weight array (numpy or torch).

    For a module, its own weight, bias, stride, padding and dilation are used and the other
    arguments are ignored (except ``source``). Grouped convolutions, non-zero padding modes and
    asymmetric ``padding="same"`` are refused because the animation draws one zero-padded window
    over every input channel.
    """
    if _is_conv3d_module(module_or_weight):
        module = module_or_weight
        if module.groups != 1:
            raise VisualiserError(f"Grouped 3D convolutions (groups={module.groups}) cannot be animated; use groups=1.")
        if module.padding_mode != "zeros":
            raise VisualiserError(f"Only zero padding can be animated; this layer uses '{module.padding_mode}'.")
        weight = module.weight.detach().cpu().numpy()
        module_bias = None if module.bias is None else module.bias.detach().cpu().numpy()
        return Conv3dSpec(
            weight=weight,
            bias=module_bias,
            stride=tuple(module.stride),
            padding=_module_padding(module.padding, weight.shape[2:], tuple(module.dilation)),
            dilation=tuple(module.dilation),
            source=source or "Conv3d layer",
        )
    return Conv3dSpec(
        weight=_to_numpy(module_or_weight),
        bias=None if bias is None else _to_numpy(bias),
        stride=stride,  # type: ignore[arg-type]
        padding=padding,  # type: ignore[arg-type]
        dilation=dilation,  # type: ignore[arg-type]
        source=source or "custom kernel",
    )


def _is_conv3d_module(obj: Any) -> bool:
    """Check for a Conv3d without importing torch when the caller passed plain arrays."""
    try:
        from torch import nn
    except ImportError:  # torch is a runtime dependency, but arrays alone must still work
        return False
    if isinstance(obj, nn.Module) and not isinstance(obj, nn.Conv3d):
        raise VisualiserError(f"Expected a torch.nn.Conv3d layer; got {type(obj).__name__}.")
    return isinstance(obj, nn.Conv3d)


def _module_padding(padding: Any, kernel: Sequence[int], dilation: Sequence[int]) -> Triple:
    """Turn torch's padding (ints, 'valid' or 'same') into symmetric per-axis padding."""
    if padding == "valid":
        return (0, 0, 0)
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        if any(total % 2 for total in totals):
            raise VisualiserError("padding='same' with an even kernel extent pads unevenly and cannot be animated.")
        return tuple(total // 2 for total in totals)  # type: ignore[return-value]
    return tuple(int(p) for p in padding)  # type: ignore[return-value]


def _to_numpy(value: Any) -> np.ndarray:
    """Detach torch tensors; pass numpy-compatible values through."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float32)
