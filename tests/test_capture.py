"""The recorder captures what our layers computed (read from structure, no probe), cleans up after itself, and
never mixes threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from visualiser.analysis import recorded_forward
from visualiser.capture import discover, hook_count, watch
from visualiser.models.layers import Tap


def _x(seed: int, batch: int = 1) -> torch.Tensor:
    return torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def _recorded(tiny, x: torch.Tensor):
    """The blocks of batch element 0 recorded by the watch with the structure-only discovery."""
    with watch(tiny, discovery=discover(tiny)) as w, torch.no_grad():
        tiny(x)
    return w.blocks(0)


def test_attention_modules_are_top_level_blocks_read_from_structure_alone(tiny):
    found = discover(tiny)
    assert [p.name for p in found.plans] == ["layer1.0.se", "layer2.0.se", "layer3.0.se"]
    assert not found.probed and [m.attention for m in found.found] == ["se", "cbam", "eca"]
    assert [p.roles for p in found.plans] == [("channel",), ("channel", "spatial"), ("channel",)]


def test_every_tap_recorded_in_forward_order(tiny):
    """Each block carries every tap its module has, each the very tensor a test-side hook saw on that tap."""
    taps: dict[str, torch.Tensor] = {}
    handles = [
        m.register_forward_hook(lambda _m, _i, out, name=name: taps.__setitem__(name, out.detach().clone()))
        for name, m in tiny.named_modules()
        if isinstance(m, Tap)
    ]
    try:
        blocks = _recorded(tiny, _x(0))
    finally:
        for h in handles:
            h.remove()
    assert list(taps) == [  # the test's own hooks: the forward order
        "layer1.0.se.squeeze",
        "layer1.0.se.gate",
        "layer2.0.se.channel.avg_logits",
        "layer2.0.se.channel.max_logits",
        "layer2.0.se.channel.gate",
        "layer2.0.se.spatial.mean_map",
        "layer2.0.se.spatial.max_map",
        "layer2.0.se.spatial.logits",
        "layer2.0.se.spatial.gate",
        "layer3.0.se.squeeze",
        "layer3.0.se.gate",
    ]
    se, cbam, eca = blocks
    assert [b.name for b in blocks] == ["layer1.0.se", "layer2.0.se", "layer3.0.se"]
    recorded = {
        "layer1.0.se.squeeze": se.squeeze,
        "layer1.0.se.gate": se.channel_gate,
        "layer2.0.se.channel.avg_logits": cbam.avg_logits,
        "layer2.0.se.channel.max_logits": cbam.max_logits,
        "layer2.0.se.channel.gate": cbam.channel_gate,
        "layer2.0.se.spatial.mean_map": cbam.mean_map,
        "layer2.0.se.spatial.max_map": cbam.max_map,
        "layer2.0.se.spatial.logits": cbam.spatial_logits,
        "layer2.0.se.spatial.gate": cbam.spatial_gate,
        "layer3.0.se.squeeze": eca.squeeze,
        "layer3.0.se.gate": eca.channel_gate,
    }
    for name, value in recorded.items():
        assert np.array_equal(value, taps[name][0].reshape(value.shape).numpy()), name  # bit for bit


def test_captured_gates_equal_the_layer_formulas(tiny):
    """Each captured gate equals the paper formula applied to the captured inputs (a test-side check only)."""
    se_b, cbam_b, eca_b = _recorded(tiny, _x(1))
    t = {k: torch.tensor(v)[None] for k, v in vars(cbam_b).items() if isinstance(v, np.ndarray)}
    se = tiny.layer1[0].se
    squeeze = torch.tensor(se_b.squeeze).view(1, -1, 1, 1)
    expected = torch.sigmoid(se.fc2(torch.relu(se.fc1(squeeze)))).reshape(-1)
    torch.testing.assert_close(torch.tensor(se_b.channel_gate), expected)

    cam = tiny.layer2[0].se.channel
    torch.testing.assert_close(t["channel_gate"], torch.sigmoid(t["avg_logits"] + t["max_logits"]))
    sam = tiny.layer2[0].se.spatial
    stacked = torch.stack([t["max_map"], t["mean_map"]], dim=1)  # (max, mean)
    bn = sam.conv.bn
    conv = F.conv2d(stacked, sam.conv.conv.weight, padding=3)
    logits = (conv - bn.running_mean.view(1, -1, 1, 1)) / torch.sqrt(bn.running_var.view(1, -1, 1, 1) + bn.eps)
    logits = (logits * bn.weight.view(1, -1, 1, 1) + bn.bias.view(1, -1, 1, 1))[:, 0]
    torch.testing.assert_close(t["spatial_logits"], logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(t["spatial_gate"], torch.sigmoid(logits), rtol=1e-5, atol=1e-5)
    assert cam.fc1.weight.shape == (8, 32)
    assert np.array_equal(cbam_b.spatial_kernel, sam.conv.conv.weight.detach()[0].numpy())

    eca = tiny.layer3[0].se
    s = torch.tensor(eca_b.squeeze)[None]
    k = eca.conv.weight.shape[-1]
    manual = torch.sigmoid(F.conv1d(s[:, None, :], eca.conv.weight, padding=(k - 1) // 2))[:, 0]
    torch.testing.assert_close(torch.tensor(eca_b.channel_gate)[None], manual)


def test_squeeze_is_the_block_input_mean(tiny):
    inputs: list[torch.Tensor] = []
    handle = tiny.layer1[0].se.register_forward_pre_hook(lambda _m, a: inputs.append(a[0].detach().clone()))
    try:
        se = _recorded(tiny, _x(2))[0]
    finally:
        handle.remove()
    torch.testing.assert_close(torch.tensor(se.squeeze), inputs[0].mean((2, 3))[0])


def test_hooks_removed_on_exit_and_on_exception(tiny):
    before = hook_count(tiny)
    with watch(tiny, discovery=discover(tiny)), torch.no_grad():
        assert hook_count(tiny) > before
        tiny(_x(0))
    assert hook_count(tiny) == before
    with pytest.raises(RuntimeError), watch(tiny, discovery=discover(tiny)):
        tiny(torch.randn(1, 5, 32, 32))  # wrong channel count fails inside the block
    assert hook_count(tiny) == before


def test_blocks_have_the_right_shapes_and_ranges(tiny):
    record = recorded_forward(tiny, _x(3, batch=2))
    assert record.probabilities.shape == (2, 5)
    np.testing.assert_allclose(record.probabilities.sum(1), 1.0, rtol=1e-5)
    se, cbam, eca = record.blocks[1]
    assert (se.kind, se.stage, se.block, se.channels) == ("se", 1, 0, 16)
    assert se.channel_gate.shape == (16,) and se.squeeze.shape == (16,)
    assert cbam.kind == "cbam" and cbam.channel_gate.shape == (32,) and cbam.spatial_gate.shape == (8, 8)
    assert cbam.avg_logits.shape == (32,) and cbam.mean_map.shape == (8, 8) and cbam.spatial_kernel.shape == (2, 7, 7)
    assert cbam.spatial_order == "max_mean"
    assert eca.kind == "eca" and eca.channel_gate.shape == (32,)
    for b in record.blocks[1]:
        assert b.channel_gate.min() > 0.0 and b.channel_gate.max() < 1.0
    # batch elements differ, so their records must differ
    assert not np.allclose(record.blocks[0][0].channel_gate, record.blocks[1][0].channel_gate)


def test_concurrent_threads_never_mix_records(tiny):
    inputs = [_x(seed) for seed in range(8)]
    solo = [recorded_forward(tiny, x) for x in inputs]
    results: dict[int, object] = {}
    barrier = threading.Barrier(4)

    def work(i: int) -> None:
        barrier.wait()
        for j in range(i, len(inputs), 4):
            for _ in range(3):
                results[j] = recorded_forward(tiny, inputs[j])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for i, expected in enumerate(solo):
        got = results[i]
        for a, b in zip(expected.blocks[0], got.blocks[0], strict=True):
            np.testing.assert_array_equal(a.channel_gate, b.channel_gate)
            if a.spatial_gate is not None:
                np.testing.assert_array_equal(a.spatial_gate, b.spatial_gate)
    assert hook_count(tiny) == 0


def test_gradcam_matches_an_independent_autograd_computation(tiny):
    x = _x(4)
    record = recorded_forward(tiny, x, gradcam=True)
    feats: list[torch.Tensor] = []
    h = tiny.layer3.register_forward_hook(lambda _m, _i, o: feats.append(o))
    try:
        logits = tiny(x)
    finally:
        h.remove()
    cls = int(logits.argmax())
    (grad,) = torch.autograd.grad(logits[0, cls], feats[0])
    cam = torch.relu((grad.mean((2, 3), keepdim=True) * feats[0]).sum(1))[0].detach()
    cam = (cam - cam.min()) / (cam.max() - cam.min())
    assert record.gradcam_class == (cls,)
    np.testing.assert_allclose(record.gradcam[0], cam.numpy(), atol=1e-5)
    assert hook_count(tiny) == 0


def test_identity_intervention_equals_a_network_without_that_attention(tiny):
    x = _x(5)
    with watch(tiny, discovery=discover(tiny), overrides={"layer1.0.se": ("identity", ())}), torch.no_grad():
        overridden = tiny(x)
    original_forward = tiny.layer1[0].se.forward
    tiny.layer1[0].se.forward = lambda t: t  # the block without SE
    try:
        with torch.no_grad():
            expected = tiny(x)
    finally:
        tiny.layer1[0].se.forward = original_forward
    torch.testing.assert_close(overridden, expected)
    with torch.no_grad():
        assert not torch.allclose(tiny(x), expected)  # override gone after the block
    assert hook_count(tiny) == 0


def test_mute_intervention_zeroes_those_channels_after_the_gate(tiny):
    x = _x(6)
    seen: list[torch.Tensor] = []
    h = tiny.layer1[0].se.register_forward_hook(lambda _m, _i, o: seen.append(o.detach()))
    try:
        with watch(tiny, discovery=discover(tiny), overrides={"layer1.0.se": ("mute", [2, 5])}), torch.no_grad():
            tiny(x)
    finally:
        h.remove()
    out = seen[0]
    assert torch.count_nonzero(out[:, [2, 5]]) == 0
    assert torch.count_nonzero(out[:, [0, 1, 3]]) > 0
