"""``visualiser.launch(my_model)``: the app served on a user's own network, through gradio_client."""

from __future__ import annotations

import socket

import pytest

from tests.support.replica_nets import replica_net
from tests.support.replicas import OfficialCBAM

pytestmark = pytest.mark.server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_launch_serves_the_app_on_your_own_network_and_its_gates(fake_inputs):
    import torch
    from gradio_client import Client, handle_file

    import visualiser
    from visualiser.models.registry import Preprocess

    torch.manual_seed(0)
    net = replica_net(lambda c: OfficialCBAM(c, 4), classes=3)
    fruit = ["apple", "banana", "cherry"]
    demo = visualiser.launch(
        net, preprocess=Preprocess(input_size=64, crop_pct=1.0), labels=fruit, title="My CBAM net",
        block=False, server_port=_free_port(), quiet=True,
    )  # fmt: skip
    try:
        name = visualiser.register_module(net)  # the same module again: the name launch gave it
        label, overlay, summary = Client(demo.local_url, verbose=False).predict(
            handle_file(str(fake_inputs.image)), name, api_name="/analyse_image"
        )
        assert summary["model"] == name and summary["model_title"] == "My CBAM net"
        assert {c["label"] for c in label["confidences"]} == set(fruit)
        assert summary["channel_gates"] and overlay is not None  # the official CBAM's gates, found and drawn
        assert [m["layout"] for m in summary["modules"]] and all("CBAM" in m["layout"] for m in summary["modules"])
    finally:
        demo.close()
        from visualiser.pipeline import unregister_module

        unregister_module(visualiser.register_module(net))
