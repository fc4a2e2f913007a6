"""The MobileNetV3-like and SE-ResNet-50-like replicas end to end, overrides that stay in their own thread,
and the bench rows' function (slow)."""

from __future__ import annotations

import threading

import pytest
import torch

from tests.support import replica_nets as n
from tests.support import replicas as r
from tests.test_watch import check_gates_are_what_the_modules_used
from visualiser.capture import discover, hook_count, watch


def test_mobilenet_v3_like_hard_sigmoid_gates():
    net = n.mobilenet_v3_like()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    found = discover(net, x)
    assert [m.name for m in found.found] == ["features.1.block.2", "features.2.block.2", "features.3.block.2"]
    assert all("Hardsigmoid" in m.layout and m.capture.endswith("scale_activation") for m in found.found)
    assert found.feature_layer == "features"
    check_gates_are_what_the_modules_used(net, x)
    with watch(net, discovery=found) as w, torch.no_grad():
        net(x)
    gates = [b.channel_gate for b in w.blocks(0)]
    assert all(((g >= 0) & (g <= 1)).all() for g in gates)


def test_se_resnet50_like_blocks_are_named_by_stage():
    net = n.se_resnet50_like()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    found = discover(net, x)
    assert [m.name for m in found.found] == [f"layer{s}.0.se" for s in (1, 2, 3, 4)]
    check_gates_are_what_the_modules_used(net, x)
    with watch(net, discovery=found) as w, torch.no_grad():
        net(x)
    assert [(b.stage, b.block, b.channels) for b in w.blocks(0)] == [(1, 0, 32), (2, 0, 64), (3, 0, 128), (4, 0, 256)]
    assert found.feature_layer == "layer4"


def test_an_override_acts_only_for_the_thread_that_asked_for_it():
    net = n.replica_net(lambda c: r.OfficialCBAM(c))  # functional gates: the override is the function mode's
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    found = discover(net, x)
    with torch.no_grad():
        plain = net(x)
    every = {m.name: ("identity", ()) for m in found.found}
    start, seen = threading.Barrier(2), []

    def forced() -> None:
        with watch(net, discovery=found, overrides=every), torch.no_grad():
            start.wait()
            for _ in range(5):
                seen.append(("forced", net(x)))

    def untouched() -> None:
        start.wait()
        with torch.no_grad():
            for _ in range(5):
                seen.append(("plain", net(x)))

    threads = [threading.Thread(target=forced), threading.Thread(target=untouched)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(torch.equal(out, plain) == (kind == "plain") for kind, out in seen) and len(seen) == 10
    assert hook_count(net) == 0


@pytest.mark.slow
def test_bench_rows_are_measured_for_both_replicas():
    from tools.bench_foreign import bench_foreign

    rows = bench_foreign(repeats=1, tiny=True)
    assert set(rows) == {"mobilenetv3_like", "seresnet50_like"}
    for row in rows.values():
        assert row["forward_ms"] > 0 and row["recorded_over_forward"] > 0 and row["discovery_ms"] > 0
        assert row["blocks"] >= 3
