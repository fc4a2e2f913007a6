"""Any device, any floating-point type: the recorded pass moves the input to the model's device and dtype, and
everything that comes back (probabilities, gates, Grad-CAM, interventions, statistics) is CPU float32 NumPy.

The gates are still the very tensors the modules multiplied by, as float32: the test's own hooks see each gate
module's output in the model's dtype, on its device, and the recorded gate is that tensor in float32, bit for
bit. Where float32 holds the model's values exactly (float32, bfloat16, float16), the recorded gate cast back
also gives the module's output (input × gate) bit for bit. CUDA and MPS cases run where the machine has them
and are skipped otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests.support import replica_nets as n
from tests.support import replicas as r
from tests.support.tiny import tiny_net
from tools.training.gates import collect_gates
from visualiser import pipeline
from visualiser.analysis import recorded_forward
from visualiser.capture import discover, hook_count
from visualiser.models.registry import Preprocess

PRE = Preprocess(input_size=32, crop_pct=1.0)
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")),
    pytest.param("mps", marks=pytest.mark.skipif(not torch.backends.mps.is_available(), reason="no MPS device here")),
]
DTYPES = [torch.float32, torch.float64, torch.bfloat16, torch.float16]


def _usable(device: str, dtype: torch.dtype) -> None:
    """Skip a dtype this torch build cannot run a convolution backward in on this device (float16 on old CPUs)."""
    if device == "mps" and dtype == torch.float64:
        pytest.skip("MPS has no float64")
    try:
        x = torch.ones(1, 2, 4, 4, device=device, dtype=dtype, requires_grad=True)
        nn.functional.conv2d(x, torch.ones(1, 2, 3, 3, device=device, dtype=dtype)).sum().backward()
    except (RuntimeError, NotImplementedError) as e:
        pytest.skip(f"{dtype} convolutions are not supported on {device} by this torch: {e}")


def _image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (40, 48, 3), dtype=np.uint8)


def _exact_in_float32(dtype: torch.dtype) -> bool:
    return dtype.itemsize <= 4


def _io(modules: dict[str, nn.Module]) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], list]:
    seen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    handles = [
        m.register_forward_hook(lambda _m, i, o, name=name: seen.__setitem__(name, (i[0].detach(), o.detach())))
        for name, m in modules.items()
    ]
    return seen, handles


def _all_float32(record_arrays: list[np.ndarray | None]) -> bool:
    return all(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in record_arrays if a is not None)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_our_network_records_on_its_device_and_dtype(device, dtype):
    _usable(device, dtype)
    model = tiny_net().to(device=device, dtype=dtype)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))  # CPU float32, as preprocessing gives
    names = ("layer1.0.se", "layer2.0.se.channel", "layer3.0.se")
    watched = {n: model.get_submodule(n) for name in names for n in (name, f"{name}.gate")}  # modules, gate taps
    seen, handles = _io(watched)
    try:
        record = recorded_forward(model, x, gradcam=True)
    finally:
        for h in handles:
            h.remove()
    assert record.probabilities.dtype == np.float32 and record.probabilities.shape == (2, 5)
    assert np.allclose(record.probabilities.sum(1), 1.0, atol=1e-2)
    assert record.gradcam.dtype == np.float32 and record.gradcam.shape == (2, 4, 4)
    assert record.gradcam.min() >= 0.0 and record.gradcam.max() <= 1.0
    blocks = {b.name: b for b in record.blocks[1]}
    assert _all_float32([v for b in blocks.values() for v in vars(b).values() if isinstance(v, np.ndarray)])
    for name in names:
        block = blocks[name.removesuffix(".channel")]
        used = seen[f"{name}.gate"][1][1].reshape(-1)  # element 1's gate, as the module had it
        assert np.array_equal(block.channel_gate, used.float().cpu().numpy()), name
        if _exact_in_float32(dtype):
            inputs, output = seen[name]
            gate = torch.from_numpy(block.channel_gate.copy()).to(device=device, dtype=dtype).view(1, -1, 1, 1)
            assert torch.equal(output[1:], inputs[1:] * gate), name  # bit for bit, in the model's dtype
    assert hook_count(model) == 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_a_users_network_through_the_pipeline_on_its_device_and_dtype(device, dtype):
    _usable(device, dtype)
    net = n.replica_net(lambda c: r.TimmCbamModule(c, 4)).to(device=device, dtype=dtype)
    halves = {f"stages.{i}.attn.{half}{part}": net.get_submodule(f"stages.{i}.attn.{half}{part}")
              for i in (0, 1) for half in ("channel", "spatial") for part in ("", ".gate")}  # fmt: skip
    seen, handles = _io(halves)
    try:
        result = pipeline.analyse_image(_image(1), model=net, preprocess=PRE, gradcam=True)
    finally:
        for h in handles:
            h.remove()
    assert result.probabilities.dtype == np.float32 and result.gradcam.dtype == np.float32
    for block in result.blocks:
        assert _all_float32([block.channel_gate, block.spatial_gate, block.mean_map, block.spatial_kernel])
        for half, values in (("channel", block.channel_gate), ("spatial", block.spatial_gate)):
            used = seen[f"{block.name}.{half}.gate"][1][0]
            assert np.array_equal(values, used.float().cpu().numpy().reshape(values.shape)), (block.name, half)
            if _exact_in_float32(dtype):
                inputs, output = seen[f"{block.name}.{half}"]
                gate = torch.from_numpy(values.copy()).to(device=device, dtype=dtype)
                gate = gate.view(1, -1, 1, 1) if half == "channel" else gate.view(1, 1, *gate.shape)
                assert torch.equal(output, inputs * gate), (block.name, half)
    outcome = pipeline.intervene(_image(1), "stages.1.attn", model=net, preprocess=PRE)
    assert outcome.probabilities_after.dtype == np.float32
    assert not np.array_equal(outcome.probabilities_before, outcome.probabilities_after)
    stats = collect_gates(net, [torch.randn(3, 3, 32, 32)], foreign=pipeline.foreign_model(net, PRE).foreign)
    assert stats.stacked_logits().dtype == np.float32 and stats.stacked_channel()["stages.1.attn"].shape == (3, 16)
    assert hook_count(net) == 0


@pytest.mark.parametrize("device", DEVICES)
def test_discovery_and_the_class_count_run_on_the_models_device(device):
    net = n.replica_net(lambda c: r.OfficialCBAM(c)).to(device=device, dtype=torch.float64)
    found = discover(net, torch.randn(1, 3, 32, 32))  # a CPU float32 example: moved to the model for the probe
    assert [m.attention for m in found.found] == ["cbam", "cbam"] and found.feature_layer == "stages"
    picked = pipeline.foreign_model(net, PRE, scores=lambda out: out[:, :2])  # classes counted by one pass, moved too
    assert picked.labels == ("class 0", "class 1")
