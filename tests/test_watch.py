"""watch(): other libraries' attention layouts (structural replicas) are found, and what is recorded is the
very gate each module multiplied by, checked by the test's own hooks on the modules' inputs and outputs."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest
import torch
from torch import nn

from tests.support import replica_nets as n
from tests.support import replicas as r
from visualiser.capture import discover, hook_count, watch
from visualiser.capture.rules import RULES
from visualiser.models.layers import SqueezeExcite

LAYOUTS = {
    # name: (factory of the attention module for C channels, dims, layout prefix, attention kind)
    "timm_se": (lambda c: r.TimmSEModule(c, 8), 2, "timm SEModule", "se"),
    "timm_squeeze_excite": (lambda c: r.TimmSqueezeExcite(c, 4), 2, "timm SqueezeExcite", "se"),
    "timm_effective_se": (lambda c: r.TimmEffectiveSEModule(c), 2, "timm EffectiveSEModule", "se"),
    "timm_eca": (lambda c: r.TimmEcaModule(3), 2, "timm EcaModule", "eca"),
    "eca_net": (lambda c: r.EcaNetLayer(3), 2, "ECA-Net eca_layer", "eca"),
    "timm_cbam": (lambda c: r.TimmCbamModule(c, 4), 2, "timm CbamModule", "cbam"),
    "timm_light_cbam": (lambda c: r.TimmCbamModule(c, 4, light=True), 2, "timm LightCbamModule", "cbam"),
    "torchvision_se": (
        lambda c: r.TorchvisionSqueezeExcitation(c, 4, nn.Hardsigmoid), 2, "torchvision SqueezeExcitation", "se"
    ),
    "pytorchcv_se": (lambda c: r.PytorchcvSEBlock(c), 2, "pytorchcv SEBlock", "se"),
    "pytorchcv_se_inplace_hsigmoid": (  # mobilenetv3_w1: F.relu6(x + 3.0, inplace=True) / 6.0
        lambda c: r.PytorchcvSEBlock(c, out_activation=r.PytorchcvHSigmoid), 2, "pytorchcv SEBlock", "se"
    ),
    "pytorchcv_cbam": (lambda c: r.PytorchcvCbamBlock(c), 2, "pytorchcv CbamBlock", "cbam"),
    "official_cbam": (lambda c: r.OfficialCBAM(c), 2, "official CBAM (Jongchan", "cbam"),
    "official_cbam_3d": (lambda c: r.OfficialCBAM(c, dims=3), 3, "official CBAM (Jongchan", "cbam"),
    "ultralytics_cbam": (lambda c: r.UltralyticsCBAM(c), 2, "ultralytics CBAM", "cbam"),
    "torchvision_se_3d": (lambda c: r.TorchvisionStyleSE3d(c, 4), 3, "torchvision SqueezeExcitation", "se"),
    "unknown_gate": (lambda c: n.UnknownGate(c), 2, "unknown", "cbam"),
}


def _x(dims: int, seed: int = 0, batch: int = 1) -> torch.Tensor:
    shape = (batch, 3, 32, 32) if dims == 2 else (batch, 3, 8, 32, 32)
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@contextmanager
def io_of(modules: list[nn.Module]):
    """The test's own hooks: every (input, output) of each module's last call."""
    seen: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def keep(mod: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        seen[id(mod)] = (inputs[0].detach().clone(), out.detach().clone())  # copies: blocks add in place after

    handles = [m.register_forward_hook(keep) for m in modules]
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()


def _broadcast(gate: np.ndarray, role: str, dims: int) -> torch.Tensor:
    g = torch.from_numpy(gate)
    return g.view(1, -1, *([1] * dims)) if role == "channel" else g.view(1, 1, *g.shape)


def check_gates_are_what_the_modules_used(net: nn.Module, x: torch.Tensor) -> None:
    """For each found gate: the owner returned exactly input × gate (or returned the gate itself)."""
    found = discover(net, x)
    plans = found.plans
    owners = {g.owner: net.get_submodule(g.owner) for p in plans for g in p.gates}
    with io_of(list(owners.values())) as seen, watch(net, discovery=found) as w, torch.no_grad():
        net(x)
    blocks = {b.name: b for b in w.blocks(0)}
    assert [b.name for b in w.blocks(0)] == [p.name for p in found.plans]
    for plan in plans:
        block = blocks[plan.name]
        product: dict[str, torch.Tensor] = {}
        for gate in plan.gates:
            values = block.channel_gate if gate.role == "channel" else block.spatial_gate
            g = _broadcast(values, gate.role, gate.dims)
            inp, out = seen[id(owners[gate.owner])]
            if gate.rule == RULES["returns"]:
                assert torch.equal(out.reshape(g.shape), g), plan.name
            elif gate.rule == RULES["chain"]:
                assert torch.equal(out, product[gate.owner] * g), plan.name
            else:
                product[gate.owner] = inp[:1] * g
                if len([q for q in plan.gates if q.owner == gate.owner]) == 1:
                    assert torch.equal(out, product[gate.owner]), plan.name


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_each_layout_is_found_and_records_the_gate_it_used(layout):
    factory, dims, text, kind = LAYOUTS[layout]
    net = n.replica_net(factory, dims=dims)
    x = _x(dims)
    found = discover(net, x)
    assert [m.name for m in found.found] == ["stages.0.attn", "stages.1.attn"]
    for module, channels in zip(found.found, (8, 16), strict=True):
        assert module.layout.startswith(text), module.layout
        assert module.attention == kind and module.dims == dims and module.channels == channels
        assert module.kind == ("both" if kind == "cbam" else "channel")
        assert ("(3-D)" in module.layout) == (dims == 3)
    check_gates_are_what_the_modules_used(net, x)
    assert hook_count(net) == 0


def test_internals_are_the_modules_own_intermediates():
    """timm CBAM: branch logits, pooled maps, logits and kernel as the module computed them (test-side check)."""
    net = n.replica_net(lambda c: r.TimmCbamModule(c, 4))
    x = _x(2, 3)
    cbam = net.stages[1].attn
    with io_of([cbam.channel, cbam.spatial]) as seen, watch(net, example=x) as w, torch.no_grad():
        net(x)
    block = w.blocks(0)[1]
    torch.testing.assert_close(
        torch.sigmoid(torch.from_numpy(block.avg_logits + block.max_logits)), torch.from_numpy(block.channel_gate)
    )
    spatial_in = seen[id(cbam.spatial)][0][0]
    torch.testing.assert_close(torch.from_numpy(block.mean_map), spatial_in.mean(0))
    assert torch.equal(torch.from_numpy(block.max_map), spatial_in.amax(0))
    spatial_logits, spatial_gate = torch.from_numpy(block.spatial_logits), torch.from_numpy(block.spatial_gate)
    torch.testing.assert_close(torch.sigmoid(spatial_logits), spatial_gate)
    assert block.spatial_order == "mean_max"
    assert np.array_equal(block.spatial_kernel, cbam.spatial.conv.conv.weight.detach()[0].numpy())


def test_official_cbam_internals_come_through_the_function_mode():
    net = n.replica_net(lambda c: r.OfficialCBAM(c))
    x = _x(2, 4)
    found = discover(net, x)
    assert all("function mode" in m.capture for m in found.found)
    with watch(net, discovery=found) as w, torch.no_grad():
        net(x)
    block = w.blocks(0)[0]
    assert block.spatial_order == "max_mean" and block.spatial_kernel.shape == (2, 7, 7)
    spatial_logits, spatial_gate = torch.from_numpy(block.spatial_logits), torch.from_numpy(block.spatial_gate)
    torch.testing.assert_close(torch.sigmoid(spatial_logits), spatial_gate)
    torch.testing.assert_close(
        torch.sigmoid(torch.from_numpy(block.avg_logits + block.max_logits)), torch.from_numpy(block.channel_gate)
    )


def test_a_module_that_returns_its_gate_is_one_cbam_block_named_by_its_parent():
    net = n.with_seeded_weights(n.ReturningNet())
    x = _x(2, 5)
    found = discover(net, x)
    assert [(m.name, m.kind, m.members) for m in found.found] == [
        ("layer1.0", "both", ("layer1.0.ca", "layer1.0.sa")),
        ("layer2.0", "both", ("layer2.0.ca", "layer2.0.sa")),
    ]
    assert "returns the gate" in found.found[0].reason
    check_gates_are_what_the_modules_used(net, x)


def test_channel_order_and_batch_elements_are_kept():
    """Permuting the input channels' roles: each batch element's gate is its own, channel c is channel c."""
    net = n.replica_net(lambda c: r.TorchvisionSqueezeExcitation(c, 4))
    x = _x(2, 6, batch=3)
    se = net.stages[0].attn
    with io_of([se.scale_activation]) as seen, watch(net, example=x) as w, torch.no_grad():
        net(x)
    gate = seen[id(se.scale_activation)][1].reshape(3, -1)
    for i in range(3):
        assert np.array_equal(w.blocks(i)[0].channel_gate, gate[i].numpy())
    assert not np.array_equal(w.blocks(0)[0].channel_gate, w.blocks(1)[0].channel_gate)


def test_softmax_over_channels_and_silu_are_not_gates_and_nothing_found_says_what_was_looked_for():
    for factory in (lambda c: n.SoftmaxChannels(c), lambda c: n.SiLUish(), lambda c: nn.Identity()):
        found = discover(n.replica_net(factory), _x(2))
        assert found.found == ()
        assert found.message.startswith("No attention module found in ReplicaNet: looked for")
        assert "sigmoid or hard-sigmoid gate" in found.message and "softmax" in found.message


def test_our_modules_and_foreign_ones_mix_in_forward_order():
    made = iter([lambda c: SqueezeExcite(c, reduction=4), lambda c: r.TimmSEModule(c, 8)])
    net = n.replica_net(lambda c: next(made)(c))
    x = _x(2, 7)
    found = discover(net, x)
    assert [(m.name, m.layout.split(" ")[0]) for m in found.found] == [
        ("stages.0.attn", "visualiser"),
        ("stages.1.attn", "timm"),
    ]
    with io_of([net.stages[0].attn.gate]) as seen, watch(net, discovery=found) as w, torch.no_grad():
        net(x)
    ours, theirs = w.blocks(0)
    assert ours.kind == "se" and np.array_equal(ours.channel_gate, seen[id(net.stages[0].attn.gate)][1].reshape(-1))
    assert theirs.kind == "se" and theirs.squeeze is not None
    assert hook_count(net) == 0


def test_nothing_stays_registered_when_the_forward_raises():
    net = n.replica_net(lambda c: n.Raising(c))
    x = _x(2)
    discover(net, x)
    net.stages[1].attn.fail = True
    with pytest.raises(RuntimeError, match="failing on purpose"), watch(net) as w, torch.no_grad():
        net(x)
    assert hook_count(net) == 0 and torch._C._len_torch_function_stack() == 0
    assert [b.name for b in w.blocks(0)] == ["stages.0.attn.se", "stages.1.attn.se"]  # both SEs finished first

    official = n.replica_net(lambda c: r.OfficialCBAM(c))
    discover(official, x)
    gate = official.stages[0].attn.SpatialGate

    def broken(_x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("failing inside a traced module")

    gate.spatial.forward = broken  # raises while the function mode is active inside SpatialGate
    with pytest.raises(RuntimeError, match="traced module"), watch(official), torch.no_grad():
        official(x)
    assert hook_count(official) == 0 and torch._C._len_torch_function_stack() == 0


def test_discovery_is_cached_and_redone_when_the_modules_change():
    net = n.replica_net(lambda c: r.TimmSEModule(c, 8))
    first = discover(net, _x(2))
    assert discover(net, _x(2, 9)) is first
    net.stages[0].attn = r.PytorchcvSEBlock(8)
    again = discover(net, _x(2))
    assert again is not first and again.found[0].layout.startswith("pytorchcv SEBlock")


def test_lazy_discovery_on_the_first_forward_inside_watch():
    net = n.replica_net(lambda c: r.UltralyticsCBAM(c))
    x = _x(2, 10)
    with watch(net) as w, torch.no_grad():
        out = net(x)
    with torch.no_grad():
        assert torch.equal(out, net(x))  # the probe changed nothing the forward depends on
    assert [b.kind for b in w.blocks(0)] == ["cbam", "cbam"]
    assert w.found[0].layout.startswith("ultralytics CBAM")


def test_a_bare_attention_module_as_the_model_with_several_inputs_on_first_use():
    for module in (r.TimmSEModule(8, 4), r.OfficialChannelGate(8)):  # hooked gate / function-mode gate
        x = torch.randn(2, 8, 6, 6, generator=torch.Generator().manual_seed(11))
        with watch(module) as w, torch.no_grad():
            out = module(x)
        (block,) = w.blocks(1)
        assert block.name == "(model)" and block.channel_gate.shape == (8,)
        assert torch.equal(out[1], x[1] * torch.from_numpy(block.channel_gate).view(8, 1, 1))
        assert hook_count(module) == 0 and torch._C._len_torch_function_stack() == 0


class _TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.se = r.TorchvisionSqueezeExcitation(8, 4)

    def forward(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return self.se(x * scale)


def test_lazy_discovery_replays_every_positional_input():
    net = _TwoInputs()
    with watch(net) as w, torch.no_grad():
        net(torch.randn(1, 8, 5, 5), torch.tensor(2.0))
    assert [b.name for b in w.blocks(0)] == ["se"]


class _InlineSE(nn.Module):
    """A block that gates its own intermediate map in its forward (no attention submodule at all)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Conv2d(8, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return out * torch.sigmoid(self.fc(out.mean((2, 3), keepdim=True)))


def test_a_gate_applied_inline_to_an_intermediate_map_is_found_too():
    net = nn.Sequential(_InlineSE(), nn.Flatten(), nn.LazyLinear(2))
    x = _x(2, 12)
    with torch.no_grad():
        net(x)  # materialise the lazy layer
    found = discover(net, x)
    (module,) = found.found
    assert module.name == "0" and "intermediate feature map" in module.reason and "function mode" in module.capture
    with io_of([net[0].conv, net[0]]) as seen, watch(net, discovery=found) as w, torch.no_grad():
        net(x)
    (block,) = w.blocks(0)
    conv_out, out = seen[id(net[0].conv)][1], seen[id(net[0])][1]
    assert torch.equal(out, conv_out * _broadcast(block.channel_gate, "channel", 2))
    np.testing.assert_allclose(block.squeeze, conv_out.mean((2, 3))[0].numpy(), rtol=1e-6)
