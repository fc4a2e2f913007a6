"""A user's own network through the pipeline: predictions, Grad-CAM, interventions, clips, threads, statistics."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from tests.support import replica_nets as n
from tests.support import replicas as r
from visualiser import pipeline
from visualiser.capture import discover, hook_count, watch
from visualiser.errors import InputError
from visualiser.models.registry import Preprocess, get_spec
from visualiser.render import render_all

PRE = Preprocess(input_size=32, crop_pct=1.0)


def _image(seed: int, size: tuple[int, int] = (40, 48)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


def test_analyse_image_on_a_module_with_default_labels_and_every_view():
    net = n.replica_net(lambda c: r.UltralyticsCBAM(c))
    result = pipeline.analyse_image(_image(0), model=net, preprocess=PRE, top_k=3)
    assert [b.name for b in result.blocks] == ["stages.0.attn", "stages.1.attn"]
    assert {p.label for p in result.predictions} <= {f"class {i}" for i in range(5)}
    assert np.isclose(result.probabilities.sum(), 1.0) and result.input_image.shape == (32, 32, 3)
    views = render_all(result)
    assert {"channel_overview", "spatial_grid", "overlay"} <= set(views)


def test_labels_and_scores_options():
    net = n.replica_net(lambda c: r.TimmSEModule(c, 8))
    pre = PRE
    names = [f"kind {i}" for i in range(5)]
    result = pipeline.analyse_image(_image(1), model=net, preprocess=pre, labels=names)
    assert result.predictions[0].label in names
    picked = pipeline.analyse_image(_image(1), model=net, preprocess=pre, scores=lambda out: out[:, :2])
    assert picked.probabilities.shape == (2,) and {p.label for p in picked.predictions} == {"class 0", "class 1"}
    with pytest.raises(InputError, match="labels has 3 names but the network gives 5"):
        pipeline.analyse_image(_image(1), model=net, preprocess=pre, labels=["a", "b", "c"])


def test_a_detector_shows_every_gate_and_says_there_is_no_class_output():
    net = n.with_seeded_weights(n.DetectorLike())
    loaded = pipeline.foreign_model(net, PRE)
    result = pipeline.analyse_pixels(_image(2), loaded)
    assert result.predictions == () and result.probabilities.shape == (0,)
    assert [b.kind for b in result.blocks] == ["cbam", "cbam"]
    record = pipeline.image.recorded_forward(net, pipeline.prepare_image(_image(2), loaded)[0], foreign=loaded.foreign)
    assert "not class scores" in record.note and "dict with keys boxes, scores" in record.note
    with pytest.raises(InputError, match="Grad-CAM needs class scores"):
        pipeline.analyse_pixels(_image(2), loaded, gradcam=True)
    assert render_all(result)["predictions"].shape[2] == 3


def test_gradcam_targets_the_last_feature_map_and_matches_a_manual_computation():
    net = n.replica_net(lambda c: r.OfficialCBAM(c))
    loaded = pipeline.foreign_model(net, PRE)
    assert loaded.foreign.discovery.feature_layer == "stages"
    result = pipeline.analyse_pixels(_image(3), loaded, gradcam=True)
    x, _, _ = pipeline.prepare_image(_image(3), loaded)
    kept: list[torch.Tensor] = []
    handle = net.stages.register_forward_hook(lambda _m, _i, out: kept.append(out))
    try:
        logits = net(x)
    finally:
        handle.remove()
    top = int(logits.argmax())
    (grad,) = torch.autograd.grad(logits[0, top], kept[0])
    cam = torch.relu((grad.mean((2, 3), keepdim=True) * kept[0]).sum(1))[0].detach()
    cam = (cam - cam.min()) / (cam.max() - cam.min())
    assert result.gradcam_class == top
    np.testing.assert_allclose(result.gradcam, cam.numpy(), rtol=1e-5, atol=1e-6)
    named = pipeline.analyse_image(_image(3), model=net, preprocess=PRE, gradcam=True, feature_layer="stages.0")
    assert named.gradcam.shape == (16, 16)


@pytest.mark.parametrize("factory", [lambda c: r.TimmSEModule(c, 8), lambda c: r.OfficialCBAM(c)])
def test_identity_on_every_gate_changes_the_logits_exactly_as_removing_the_modules(factory):
    net = n.replica_net(factory)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    found = discover(net, x)
    every = {m.name: ("identity", ()) for m in found.found}
    with watch(net, discovery=found, overrides=every), torch.no_grad():
        forced = net(x)
    removed = copy.deepcopy(net)
    for stage in removed.stages:
        stage.attn = nn.Identity()
    with torch.no_grad():
        assert torch.equal(forced, removed(x))
        assert not torch.equal(forced, net(x))  # and outside the with, the gates are back
    assert hook_count(net) == 0


def test_intervene_mutes_channels_of_a_foreign_block_through_the_pipeline():
    net = n.replica_net(lambda c: r.TorchvisionSqueezeExcitation(c, 4))
    block = net.stages[1].attn
    outputs: list[torch.Tensor] = []
    handle = block.register_forward_hook(lambda _m, _i, out: outputs.append(out.detach()))
    try:
        out = pipeline.intervene(_image(5), "stages.1.attn", "mute", channels=[0, 3], model=net, preprocess=PRE)
    finally:
        handle.remove()
    before, after = outputs[-2:]  # (the first call was discovery's probe)
    assert torch.count_nonzero(after[:, [0, 3]]) == 0 and torch.count_nonzero(before[:, [0, 3]]) > 0
    assert torch.equal(after[:, 4:], before[:, 4:])
    assert not np.array_equal(out.probabilities_before, out.probabilities_after)
    with pytest.raises(InputError, match="no attention block"):
        pipeline.intervene(_image(5), "stages.9.attn", model=net, preprocess=PRE)


def test_clips_frame_by_frame_and_a_3d_network_on_the_whole_clip():
    frames = np.stack([_image(i, (36, 36)) for i in range(3)])
    image_net = n.replica_net(lambda c: r.PytorchcvCbamBlock(c))
    clip = pipeline.analyse_clip(frames, model=image_net, preprocess=PRE, max_frames=3)
    assert len(clip.per_frame) == 3 and all(len(f.blocks) == 2 for f in clip.per_frame)
    alone = pipeline.analyse_image(frames[1], model=image_net, preprocess=PRE)
    np.testing.assert_allclose(clip.per_frame[1].blocks[0].spatial_gate, alone.blocks[0].spatial_gate, atol=1e-6)

    video_net = n.replica_net(lambda c: r.OfficialCBAM(c, dims=3), dims=3)
    pre3d = Preprocess(input_size=32, crop_pct=1.0, frames=4)
    clip3d = pipeline.analyse_clip(frames, model=video_net, preprocess=pre3d)
    assert clip3d.is_3d and clip3d.blocks[0].spatial_gate.shape == (2, 16, 16)


def test_a_callable_preprocess():
    def transform(pixels: np.ndarray) -> torch.Tensor:
        small = np.asarray(Image.fromarray(pixels).resize((32, 32)), dtype=np.float32) / 255.0
        return torch.from_numpy(small).permute(2, 0, 1)

    net = n.replica_net(lambda c: r.TimmEcaModule(3))
    result = pipeline.analyse_image(_image(6), model=net, preprocess=transform)
    assert result.geometry.crop_box == (0, 0, 32, 32) and result.input_image.shape == (32, 32, 3)
    assert [b.kind for b in result.blocks] == ["eca", "eca"]


def test_register_module_offers_the_network_by_name():
    net = n.mobilenet_v3_like()
    name = pipeline.register_module(net, preprocess=PRE, title="My MobileNet")
    try:
        assert name == "custom_mobile_net_v3_like" and pipeline.register_module(net) == name
        assert get_spec(name).attention == "se" and pipeline.get_model(name).model is net
        result = pipeline.analyse_image(_image(7), model=name)
        assert result.model_title == "My MobileNet" and len(result.blocks) == 3
    finally:
        pipeline.unregister_module(name)


def test_two_foreign_models_from_threads_give_the_records_they_give_alone():
    nets = [n.replica_net(lambda c: r.OfficialCBAM(c)), n.replica_net(lambda c: r.TimmCbamModule(c, 4))]
    images = [_image(10 + i) for i in range(3)]
    alone = {(k, i): pipeline.analyse_image(img, model=net, preprocess=PRE) for k, net in enumerate(nets)
             for i, img in enumerate(images)}  # fmt: skip
    failures: list[str] = []

    def work(order: list[tuple[int, int]]) -> None:
        for k, i in order * 2:
            got = pipeline.analyse_image(images[i], model=nets[k], preprocess=PRE)
            for a, b in zip(got.blocks, alone[(k, i)].blocks, strict=True):
                if not (np.array_equal(a.channel_gate, b.channel_gate) and np.array_equal(a.mean_map, b.mean_map)):
                    failures.append(f"{k}/{i}/{a.name}")

    pairs = list(alone)
    threads = [threading.Thread(target=work, args=(pairs,)), threading.Thread(target=work, args=(pairs[::-1],))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [] and all(hook_count(net) == 0 for net in nets)


def test_dataset_statistics_over_a_folder_for_a_module(tmp_path):
    from visualiser.dataset import dataset_statistics

    for k, cls in enumerate(("cats", "dogs")):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(_image(20 + 3 * k + i)).save(tmp_path / cls / f"{i}.png")
    net = n.replica_net(lambda c: r.PytorchcvSEBlock(c))
    run = dataset_statistics(net, tmp_path, preprocess=PRE, workers=0, batch_size=4, progress=False)
    stats = run.sums.reference_stats()
    assert stats.classes == ("cats", "dogs") and list(stats.counts) == [3, 3]
    assert stats.blocks() == ("stages.0.attn", "stages.1.attn")
    assert stats.class_mean["stages.1.attn"].shape == (2, 16)
    single = pipeline.analyse_image(tmp_path / "cats" / "0.png", model=net, preprocess=PRE)
    cats = [pipeline.analyse_image(tmp_path / "cats" / f"{i}.png", model=net, preprocess=PRE) for i in range(3)]
    mean = np.mean([c.blocks[1].channel_gate for c in cats], axis=0)
    np.testing.assert_allclose(stats.class_mean["stages.1.attn"][0], mean, rtol=1e-6)
    assert single.blocks[0].channel_gate.shape == (8,)


def test_a_network_analysed_and_dropped_is_freed():
    import gc
    import weakref

    net = n.replica_net(lambda c: r.OfficialCBAM(c))
    pipeline.analyse_image(_image(30), model=net, preprocess=PRE, gradcam=True)
    bare = r.TimmSEModule(8, 4)  # the model itself is the attention module
    with watch(bare), torch.no_grad():
        bare(torch.randn(1, 8, 4, 4))
    refs = [weakref.ref(net), weakref.ref(bare)]
    del net, bare
    gc.collect()
    assert [ref() for ref in refs] == [None, None]


def test_a_network_that_refuses_the_probe_size_gets_a_sentence_to_act_on():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 30 * 30, 2))  # 32 px only
    with pytest.raises(InputError, match=r"failed on an input of shape \(1, 3, 224, 224\).*preprocess="):
        pipeline.analyse_image(_image(31), model=net)
    assert pipeline.analyse_image(_image(31), model=net, preprocess=PRE).probabilities.shape == (2,)


def test_a_vit_has_no_automatic_gradcam_target_and_is_asked_for_a_feature_layer():
    """Its last 4-D output is blocks.1.attn.k_norm, (1, heads, tokens, head_dim): never taken as a feature map."""
    net = n.with_seeded_weights(n.ViTLike()).eval()
    loaded = pipeline.foreign_model(net, PRE)
    assert loaded.foreign.discovery.feature_layer is None
    assert "blocks.1.attn.k_norm (1, 4, 17, 8)" in loaded.foreign.discovery.feature_note
    with pytest.raises(InputError, match=r"blocks\.1\.attn\.k_norm.*feature_layer="):
        pipeline.analyse_pixels(_image(40), loaded, gradcam=True)
    layer = "patch_embed.proj"  # the one map over the image's positions (4 × 4 patches), named by the caller
    named = pipeline.analyse_image(_image(40), model=net, preprocess=PRE, gradcam=True, feature_layer=layer)
    assert named.gradcam.shape == (4, 4)


def test_a_network_where_nothing_is_found_says_on_its_result_what_was_looked_for():
    net = n.with_seeded_weights(n.ViTLike()).eval()
    result = pipeline.analyse_image(_image(41), model=net, preprocess=PRE)
    assert result.blocks == () and result.probabilities.shape == (5,)
    assert result.note.startswith("No attention module found in ViTLike: looked for this project's SE / CBAM")
    with watch(net) as w, torch.no_grad():
        net(pipeline.prepare_image(_image(41), pipeline.foreign_model(net, PRE))[0])
    assert w.message in result.note
    found = pipeline.analyse_image(_image(41), model=n.replica_net(lambda c: r.TimmSEModule(c, 8)), preprocess=PRE)
    assert found.note == ""  # blocks found, class scores given: nothing to say


def test_a_video_network_given_to_analyse_image_is_pointed_at_analyse_clip():
    net = n.replica_net(lambda c: r.OfficialCBAM(c, dims=3), dims=3)
    with pytest.raises(InputError, match=r"video network.*Conv3d.*analyse_clip"):
        pipeline.analyse_image(_image(42), model=net, preprocess=PRE)
    clip = pipeline.analyse_clip(np.stack([_image(i, (36, 36)) for i in range(4)]), model=net,
                                 preprocess=Preprocess(input_size=32, crop_pct=1.0, frames=4))  # fmt: skip
    assert clip.is_3d and len(clip.blocks) == 2


def test_results_are_read_only_and_compare_by_identity():
    net = n.replica_net(lambda c: r.TimmCbamModule(c, 4))
    result = pipeline.analyse_image(_image(43), model=net, preprocess=PRE, gradcam=True)
    block = result.blocks[0]
    arrays = [result.probabilities, result.input_image, result.original_image, result.gradcam, block.channel_gate,
              block.spatial_gate, block.mean_map, block.spatial_kernel]  # fmt: skip
    for array in arrays:
        with pytest.raises(ValueError, match="read-only"):
            array[(0,) * array.ndim] = 0
    again = pipeline.analyse_image(_image(43), model=net, preprocess=PRE, gradcam=True)
    assert block == block and block != again.blocks[0] and result != again  # identity, never an array comparison
    assert np.array_equal(block.channel_gate, again.blocks[0].channel_gate)
    assert len({block, again.blocks[0], result}) == 3  # hashable
    outcome = pipeline.intervene(_image(43), "stages.0.attn", model=net, preprocess=PRE)
    with pytest.raises(ValueError, match="read-only"):
        outcome.probabilities_after[0] = 0
