"""What a launched app exposes, and how it answers hostile input.

The server is ``app.py`` in a subprocess (``tools.server.AppServer``: 127.0.0.1, a free port, private
temporary folders) with the seeded random models of ``tests/fakes.py``. The promises checked here:

* nothing outside the app's own outputs is served: not the source, not the assets, not the server's log beside
  the cache, not ``/etc/passwd``, not through ``..`` or its encodings; a path or URL smuggled into an API call
  as file data is refused and never fetched;
* only ``/analyse_image``, ``/analyse_clip`` and ``/conv3d_animation`` are API endpoints;
* uploads above the size limit get HTTP 413 and leave nothing behind;
* every file of the hostile corpus (``tests/hostile.py``) gets either a correct result (the same as the pipeline
  gives in this process) or an error whose text is the decoder's own sentence (never a traceback, never the
  generic "internal error"), and the server is still up and right afterwards;
* rendered outputs are pruned after an hour, and Gradio's cache is swept;
* an uploaded network belongs to the session that uploaded it: two API sessions cannot see, list or run each
  other's; hostile checkpoints sent through the upload event (as the page sends them) get the CLI's sentences;
  a 99 MB file of 1.38 million tensors is refused from its header with the server's peak memory under twice
  its idle size; an evicted network asks its owner to upload it again and leaves no old result on screen; a
  closed page's networks leave memory.
"""

from __future__ import annotations

import functools
import http.client
import http.server
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support import hostile
from tests.support.fakes import fake_models_fixture  # noqa: F401 - pytest fixture
from tests.test_loadtest import write_fake_app
from tools.loadtest.page import ErrorAnswer, PageVisitor
from tools.server import AppServer, free_port, memory_kb
from visualiser import pipeline
from visualiser.errors import VisualiserError
from visualiser.media import MediaLimits
from visualiser.paths import EXAMPLES_DIR
from visualiser.ui.views import files as handler_files

REPO = Path(__file__).resolve().parents[1]
PUBLIC = {"/analyse_image", "/analyse_clip", "/conv3d_animation"}
IMAGE_MODEL, CLIP_MODEL, CLIP_FRAMES = "fake_cbam", "fake_motion3d", 8
INTERNAL_ERROR = "internal error; the server log has details"  # visualiser.ui_common.INTERNAL_ERROR
PEAK_MEMORY_LIMIT_MB = 1500  # a decoded 900 MP bomb alone would need 900 MB (1 byte a pixel) to 2.7 GB (RGB)


UPLOAD_LIMIT_MB = 60
UPLOADS_MB = 3  # room for nine of the test checkpoints (0.33 MB each) in the whole server, to see eviction


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    app = write_fake_app(tmp_path_factory.mktemp("app"))
    # The server accepts uploads up to the checkpoint limit; a small one keeps the 413 test's upload small.
    env = {"VISUALISER_MAX_CHECKPOINT_MB": str(UPLOAD_LIMIT_MB), "VISUALISER_UPLOADS_MB": str(UPLOADS_MB)}
    with AppServer(app, startup_timeout_s=180, env=env) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: AppServer):
    from gradio_client import Client

    return Client(server.url, verbose=False, analytics_enabled=False, download_files=False)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return hostile.build_all(tmp_path_factory.mktemp("hostile"))


def _get(server: AppServer, raw_path: str) -> tuple[int, bytes]:
    """GET a path exactly as written (no client-side normalisation of ``..`` or ``%2e``)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", raw_path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _file_url(path: str | Path) -> str:
    return f"/gradio_api/file={path}"


def _call(server: AppServer, api_name: str, data: list) -> str:
    """One raw REST call (what any HTTP client can send); returns the event stream's text."""
    import httpx

    posted = httpx.post(f"{server.url}gradio_api/call/{api_name}", json={"data": data}, timeout=30)
    posted.raise_for_status()
    event_id = posted.json()["event_id"]
    with httpx.stream("GET", f"{server.url}gradio_api/call/{api_name}/{event_id}", timeout=60) as stream:
        return "".join(stream.iter_text())


# --- what is served ----------------------------------------------------------------------------


def _forbidden_paths(server: AppServer) -> dict[str, str]:
    secret = server.tmp_dir / "attention-visualiser" / "secret.png"  # where the handlers write their outputs
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_bytes(b"\x89PNG\r\n\x1a\nnot for you")
    cache = server.gradio_dir
    traversal = f"{cache}/../server.log"
    return {
        "passwd": _file_url("/etc/passwd"),
        "passwd double slash": _file_url("//etc/passwd"),
        "passwd encoded": _file_url(urllib.parse.quote("/etc/passwd", safe="")),
        "proc environ": _file_url("/proc/self/environ"),
        "app source": _file_url(REPO / "app.py"),
        "app source relative": _file_url("app.py"),
        "package source": _file_url(REPO / "visualiser" / "pipeline.py"),
        "labels asset": _file_url(REPO / "visualiser" / "assets" / "labels" / "imagenet1k.tsv"),
        "labels asset relative": _file_url("visualiser/assets/labels/imagenet1k.tsv"),
        "git config": _file_url(REPO / ".git" / "config"),
        "server log beside the cache": _file_url(server.log_path),
        "handler output folder": _file_url(secret),
        "cache traversal": _file_url(traversal),
        "cache traversal %2e": _file_url(f"{cache}/%2e%2e/server.log"),
        "cache traversal %2f": _file_url(f"{cache}/..%2fserver.log"),
        "relative traversal": _file_url("../../../../../../etc/passwd"),
        "cache folder itself": _file_url(cache),
        "legacy route": "/file=/etc/passwd",
        "static traversal": "/static/../app.py",
        "assets traversal": "/assets/../../app.py",
        "remote url": _file_url("http://127.0.0.1:1/secret.png"),
        "out of the examples": _file_url(EXAMPLES_DIR / ".." / "labels" / "imagenet1k.tsv"),
        "out of the examples %2e": _file_url(f"{EXAMPLES_DIR}/%2e%2e/labels/imagenet1k.tsv"),
    }


@pytest.mark.server
def test_nothing_outside_the_outputs_is_served(server, client, corpus):
    from gradio_client import handle_file

    _, overlay, _ = client.predict(handle_file(str(corpus["one_pixel"])), IMAGE_MODEL, api_name="/analyse_image")
    status, body = _get(server, urllib.parse.urlsplit(overlay["url"]).path)
    assert status == 200 and body.startswith(b"\x89PNG")  # the app's own output is served...
    assert Path(overlay["path"]).resolve().is_relative_to(server.gradio_dir.resolve())
    examples = sorted(p for p in EXAMPLES_DIR.rglob("*") if p.is_file()) if EXAMPLES_DIR.is_dir() else []
    for example in examples[:3]:  # the shipped examples are served on purpose (the only allowed_paths entry)
        status, body = _get(server, _file_url(urllib.parse.quote(str(example))))
        assert status == 200 and body == example.read_bytes(), example
    for name, raw_path in _forbidden_paths(server).items():  # ...and nothing else
        status, body = _get(server, raw_path)
        assert status in (403, 404), f"{name}: {raw_path} answered {status}"
        assert b"root:" not in body and b"import" not in body and b"not for you" not in body, name


@pytest.mark.server
def test_paths_and_urls_smuggled_in_as_file_data_are_refused(server, corpus):
    fetched: list[str] = []

    class Recorder(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            fetched.append(self.path)

    handler = functools.partial(Recorder, directory=str(corpus["one_pixel"].parent))
    bait = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=bait.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{bait.server_address[1]}/pixel.png"
    try:
        attempts = [
            {"path": "/etc/passwd"},
            {"path": str(REPO / "app.py")},
            {"path": str(corpus["one_pixel"])},  # a real image, but never uploaded
            {"path": url},
            {"path": None, "url": url},
        ]
        for payload in attempts:
            events = _call(server, "analyse_image", [{**payload, "meta": {"_type": "gradio.FileData"}}, IMAGE_MODEL])
            assert "event: error" in events and "event: complete" not in events, payload
            assert "root:" not in events
        events = _call(server, "analyse_clip", [{"path": str(corpus["pattern_mp4"])}, CLIP_MODEL, CLIP_FRAMES])
        assert "event: error" in events and "event: complete" not in events
        events = _call(server, "analyse_image", [None, "../../etc/passwd"])  # a model name is not a path
        assert "event: error" in events and "root:" not in events
    finally:
        bait.shutdown()
        bait.server_close()
    assert fetched == []  # the server never fetched the URL on a caller's behalf


@pytest.mark.server
def test_only_the_three_endpoints_are_public(server, client):
    info = client.view_api(print_info=False, return_format="dict")
    assert set(info["named_endpoints"]) == PUBLIC and not info["unnamed_endpoints"]
    status, body = _get(server, "/config")
    config = json.loads(body)
    assert status == 200
    visibility = {f"/{d['api_name']}": d["api_visibility"] for d in config["dependencies"] if d.get("api_name")}
    assert {name for name, v in visibility.items() if v == "public"} == PUBLIC
    assert len(visibility) > len(PUBLIC)  # the internal events exist...
    undocumented = {name for name, v in visibility.items() if v == "undocumented"}
    # ...and are private, except Gradio's own example loaders (hard-coded "undocumented" for lazily cached
    # examples), which can only hand back one of the shipped examples by its index
    assert all(name.startswith("/load_example_input") for name in undocumented), undocumented
    shipped = {p.read_bytes() for p in EXAMPLES_DIR.rglob("*") if p.is_file()} if EXAMPLES_DIR.is_dir() else set()
    for name in undocumented:
        events = _call(server, name.lstrip("/"), [0])
        assert "event: complete" in events, events
        (loaded,) = json.loads(events.split("data:", 1)[1].strip().splitlines()[0])
        assert Path(loaded["path"]).read_bytes() in shipped
    assert config["show_error"] is False and config["vibe_mode"] is False
    private = next(d for d in config["dependencies"] if d["api_visibility"] == "private" and d.get("backend_fn"))
    with pytest.raises(ValueError, match="function index"):  # a private event (the page's own) is refused
        client.predict(*([None] * len(private["inputs"])), fn_index=private["id"])


@pytest.mark.server
def test_upload_over_the_size_limit_gets_413_and_leaves_nothing(server):
    import httpx

    limit = UPLOAD_LIMIT_MB * 1_000_000  # the checkpoint limit the fixture set; images stop at the decoder's
    assert limit >= MediaLimits().max_file_bytes  # every image or clip the decoders accept gets through HTTP
    _, body = _get(server, "/config")
    assert json.loads(body)["max_file_size"] == limit
    before = {p for p in server.gradio_dir.rglob("*") if p.is_file()}
    too_big = httpx.post(f"{server.url}gradio_api/upload", files={"files": ("big.png", bytes(limit + 1))}, timeout=120)
    assert too_big.status_code == 413 and str(limit) in too_big.text
    assert {p for p in server.gradio_dir.rglob("*") if p.is_file()} == before  # no partial upload kept
    small = httpx.post(f"{server.url}gradio_api/upload", files={"files": ("small.png", bytes(1024))}, timeout=30)
    assert small.status_code == 200


@pytest.mark.server
def test_upload_file_names_cannot_escape_the_cache(server):
    import httpx

    cache = server.gradio_dir.resolve()
    names = ["../../escaped.png", str(server.folder / "absolute.png"), "a/../../nested.png", "b\\..\\..\\win.png"]
    for name in names:
        answer = httpx.post(f"{server.url}gradio_api/upload", files={"files": (name, b"\x89PNG\r\n\x1a\n")}, timeout=30)
        if answer.status_code == 200:
            (stored,) = answer.json()
            assert Path(stored).resolve().is_relative_to(cache), (name, stored)
        else:
            assert answer.status_code == 400, name
    planted = {"escaped.png", "absolute.png", "nested.png", "win.png"}
    for root in (server.folder, server.folder.parent, REPO):
        strays = [p for p in root.glob("*") if p.name in planted]
        assert not strays, strays
    for path in server.folder.rglob("*"):
        assert path.name not in planted or path.resolve().is_relative_to(cache), path


# --- hostile input -------------------------------------------------------------------------------


def _expected(run) -> tuple[str, object]:
    """``("ok", result)`` or ``("error", message)`` from running the pipeline here, in this process."""
    try:
        return "ok", run()
    except VisualiserError as err:
        return "error", err.message


def _served(call) -> tuple[str, object]:
    from gradio_client.exceptions import AppError

    try:
        return "ok", call()
    except AppError as err:
        return "error", str(err)


def _assert_clear(message: str) -> None:
    assert message and message != INTERNAL_ERROR
    assert "Traceback" not in message and 'File "' not in message and "Error:" not in message


def _assert_top5(label: dict, summary: dict, predictions: tuple) -> None:
    served = [(c["label"], c["confidence"]) for c in label["confidences"]]
    assert [name for name, _ in served] == [p.label for p in predictions]
    np.testing.assert_allclose([p for _, p in served], [p.probability for p in predictions], atol=1e-5, rtol=0)
    assert [p["index"] for p in summary["predictions"]] == [p.index for p in predictions]


def _assert_still_serving(server: AppServer, client, corpus: dict[str, Path]) -> None:
    from gradio_client import handle_file

    assert server.process is not None and server.process.poll() is None
    label, _, summary = client.predict(handle_file(str(corpus["cmyk"])), IMAGE_MODEL, api_name="/analyse_image")
    _assert_top5(label, summary, pipeline.analyse_image(corpus["cmyk"], model=IMAGE_MODEL).predictions)


@pytest.mark.server
def test_hostile_images_get_a_correct_result_or_the_decoders_message(server, client, corpus, fake_models):
    from gradio_client import handle_file

    outcomes = {"ok": 0, "error": 0}
    for name in hostile.IMAGE_BUILDERS:
        path = corpus[name]
        kind, want = _expected(lambda path=path: pipeline.analyse_image(path, model=IMAGE_MODEL))
        got_kind, got = _served(
            lambda path=path: client.predict(handle_file(str(path)), IMAGE_MODEL, api_name="/analyse_image")
        )
        assert got_kind == kind, f"{name}: served {got_kind} {got!r}, expected {kind} {want!r}"
        outcomes[kind] += 1
        if kind == "error":
            _assert_clear(got)
            assert got == want, name
        else:
            label, _, summary = got
            _assert_top5(label, summary, want.predictions)
            assert summary["geometry"]["original_size"] == list(want.geometry.original_size), name
    assert outcomes["ok"] >= 8 and outcomes["error"] >= 8  # both kinds really occurred
    _assert_still_serving(server, client, corpus)
    peak = memory_kb(server.pid).get("VmHWM", 0) / 1024
    assert peak < PEAK_MEMORY_LIMIT_MB, f"the server's peak memory reached {peak:.0f} MB"


@pytest.mark.server
@pytest.mark.slow
def test_hostile_clips_get_a_correct_result_or_the_decoders_message(server, client, corpus, fake_models):
    from gradio_client import handle_file

    outcomes = {"ok": 0, "error": 0}
    for name in hostile.CLIP_BUILDERS:
        path = corpus[name]
        kind, want = _expected(lambda path=path: pipeline.analyse_clip(path, model=CLIP_MODEL, max_frames=CLIP_FRAMES))
        started = time.monotonic()
        got_kind, got = _served(
            lambda path=path: client.predict(handle_file(str(path)), CLIP_MODEL, CLIP_FRAMES, api_name="/analyse_clip")
        )
        assert time.monotonic() - started < MediaLimits().decode_timeout_s + 30, f"{name} took too long"
        assert got_kind == kind, f"{name}: served {got_kind} {got!r}, expected {kind} {want!r}"
        outcomes[kind] += 1
        if kind == "error":
            _assert_clear(got)
            assert got == want, name
        else:
            label, video, summary = got
            _assert_top5(label, summary, want.predictions)
            assert len(summary["timestamps"]) == len(want.timestamps), name
            if video is not None:
                assert Path(video["path"]).resolve().is_relative_to(server.gradio_dir.resolve())
    assert outcomes["ok"] >= 5 and outcomes["error"] >= 3
    _assert_still_serving(server, client, corpus)


# --- temporary outputs ---------------------------------------------------------------------------------


def test_rendered_outputs_older_than_an_hour_are_pruned(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    out = handler_files.output_dir()
    assert out.is_relative_to(tmp_path)
    old_file, old_bundle, fresh = out / "attention-old.mp4", out / "model-bundle-old", out / "conv3d-fresh.mp4"
    old_file.write_bytes(b"x")
    (old_bundle / "figures").mkdir(parents=True)
    (old_bundle / "figures" / "a.png").write_bytes(b"x")
    fresh.write_bytes(b"x")
    an_hour_ago = time.time() - handler_files.OUTPUT_MAX_AGE_S - 60
    for path in (old_file, old_bundle):
        os.utime(path, (an_hour_ago, an_hour_ago))
    new = handler_files.new_output_path("attention", ".mp4")
    assert not old_file.exists() and not old_bundle.exists()
    assert fresh.exists() and new.parent == out and not new.exists()
    assert new != handler_files.new_output_path("attention", ".mp4")  # two requests never share a file


def test_gradio_cache_is_swept_within_the_same_hour():
    from visualiser.ui.shell import build_demo

    demo = build_demo()
    every_s, older_than_s = demo.delete_cache
    assert 0 < every_s <= handler_files.OUTPUT_MAX_AGE_S and 0 < older_than_s <= handler_files.OUTPUT_MAX_AGE_S


# --- uploaded networks: private to their session, judged before they are read ------------------------------------


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str | None]]:
    return hostile.build_checkpoints(tmp_path_factory.mktemp("checkpoints"))


def _page(server: AppServer, session_hash: str | None = None) -> PageVisitor:
    """A page of the app; with ``session_hash``, the page of that (e.g. a gradio_client) session."""
    page = PageVisitor.open(server.url)
    if session_hash is not None:
        page.session_hash = session_hash
    return page


def _load_checkpoint(page: PageVisitor, checkpoint: Path, image: Path) -> list:
    """What the page does: the image in place, the checkpoint uploaded, "Load and analyse" (and what it chains).

    The event's inputs: the checkpoint, the label file, the architecture, then what the page holds (its language).
    """
    page.values[page.config.named("analyse_image").inputs[0]] = page.upload(image)
    event = page.config.named("load_checkpoint")
    held = [page.values.get(i) for i in event.inputs[3:]]
    return page.act("load_checkpoint", [page.upload(checkpoint), None, "", *held])


def _choices(update: dict) -> list[str]:
    return [value for _, value in update["choices"]]


def _listed(message: str) -> str:
    return message.split("known models:", 1)[1]


@pytest.mark.server
def test_hostile_checkpoints_get_the_clis_sentences_through_the_upload_event(server, corpus, checkpoints):
    for name, (path, expected) in checkpoints.items():
        page = _page(server)
        try:
            if expected is None:
                update, _, details = _load_checkpoint(page, path, corpus["cmyk"])
                assert _choices(update)[-1] == update["value"] and "Read from the keys" in details, name
                continue
            with pytest.raises(ErrorAnswer) as caught:
                _load_checkpoint(page, path, corpus["cmyk"])
            message = str(caught.value)
            assert message.startswith(expected), f"{name}: {message}"
            _assert_clear(message)
            assert "weights_only" not in message and "\n" not in message, name
        finally:
            page.close()
    assert server.process is not None and server.process.poll() is None


@pytest.mark.server
def test_two_api_sessions_cannot_see_list_or_run_each_others_networks(server, corpus, checkpoints):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    image = handle_file(str(corpus["cmyk"]))
    a = Client(server.url, verbose=False, analytics_enabled=False, download_files=False)
    b = Client(server.url, verbose=False, analytics_enabled=False, download_files=False)
    page_a, page_b = _page(server, a.session_hash), _page(server, b.session_hash)
    try:
        update, _, _ = _load_checkpoint(page_a, checkpoints["good"][0], corpus["cmyk"])
        mine = update["value"]
        assert mine.startswith("upload:finetuned-") and len(mine) == len("upload:finetuned-") + 24
        _, _, summary = a.predict(image, mine, api_name="/analyse_image")  # the owner runs it
        assert summary["model"] == mine
        for call in (
            lambda: b.predict(image, mine, api_name="/analyse_image"),
            lambda: b.predict(handle_file(str(corpus["pattern_mp4"])), mine, 8, api_name="/analyse_clip"),
        ):
            with pytest.raises(AppError) as caught:
                call()
            message = str(caught.value)  # ours, or Gradio's for the clip tab's list: B's choices
            assert message.startswith((f"unknown model {mine!r}; known models:", f"Value: {mine} is not in the list"))
            assert message.count("upload:") == 1  # the name B sent, and no one's uploads listed
        theirs = _load_checkpoint(page_b, checkpoints["good"][0], corpus["cmyk"])[0]
        assert mine not in _choices(theirs) and theirs["value"] in _choices(theirs)  # B's list: B's own only
        with pytest.raises(AppError) as caught:
            a.predict(image, "upload:nothing-" + "0" * 24, api_name="/analyse_image")
        assert mine in _listed(str(caught.value)) and theirs["value"] not in _listed(str(caught.value))
        dropdown = page_a.config.named("analyse_image").inputs[1]  # a new visitor's page lists neither
        initial = next(c for c in json.loads(_get(server, "/config")[1])["components"] if c["id"] == dropdown)
        assert not any(value.startswith("upload:") for _, value in initial["props"]["choices"])
    finally:
        page_a.close()
        page_b.close()
        a.close()
        b.close()


@pytest.mark.server
def test_a_closed_page_takes_its_networks_out_of_memory(server, corpus, checkpoints):
    """The page's heartbeat ends (tab closed or reloaded): Gradio's unload event drops the session's networks."""
    import httpx
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    a = Client(server.url, verbose=False, analytics_enabled=False, download_files=False)
    page = _page(server, a.session_hash)
    try:
        mine = _load_checkpoint(page, checkpoints["good"][0], corpus["cmyk"])[0]["value"]
        heartbeat = f"{server.url}gradio_api/heartbeat/{a.session_hash}"  # the page's, then the tab goes away
        with pytest.raises(httpx.ReadTimeout), httpx.stream("GET", heartbeat, timeout=2) as beat:
            for _ in beat.iter_lines():
                pass
        for _ in range(40):
            try:
                a.predict(handle_file(str(corpus["cmyk"])), mine, api_name="/analyse_image")
            except AppError as err:
                assert str(err).startswith(f"your uploaded network {mine} is no longer in memory")
                break
            time.sleep(0.25)
        else:
            pytest.fail("the closed page's network is still in memory")
    finally:
        page.close()
        a.close()


@pytest.mark.server
def test_six_concurrent_uploaders_each_get_their_own_network(server, corpus, tmp_path):
    """Upload then analyse, six visitors at once, twice each: no one's network is dropped for another's."""
    files = [hostile.good_checkpoint(tmp_path, f"net{i}.safetensors", seed=i) for i in range(6)]
    failures: list[str] = []

    def visit(i: int) -> None:
        page = _page(server)
        try:
            for _ in range(2):
                update, _, _ = _load_checkpoint(page, files[i], corpus["cmyk"])
                image = page.values[page.config.named("analyse_image").inputs[0]]
                summary = page.act("analyse_image", [image, update["value"]])[2]
                if summary["model"] != update["value"]:
                    failures.append(f"visitor {i} got {summary['model']}")
        except Exception as exc:  # noqa: BLE001 - every failure is reported
            failures.append(f"visitor {i}: {exc}")
        finally:
            page.close()

    threads = [threading.Thread(target=visit, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert failures == []


@pytest.mark.server
def test_an_evicted_network_asks_to_be_uploaded_again_and_clears_the_views(server, corpus, tmp_path):
    """A's network is dropped for ten other visitors' (the server's budget); A, still showing it, presses Analyse."""
    page = _page(server)
    try:
        mine = _load_checkpoint(page, hostile.good_checkpoint(tmp_path, "mine.safetensors", seed=10), corpus["cmyk"])
        analyse = page.config.named("analyse_image")
        predictions = analyse.outputs[0]
        assert page.values[predictions]["label"] and page.values[analyse.inputs[1]] == mine[0]["value"]
        for i in range(10):
            other = _page(server)
            _load_checkpoint(other, hostile.good_checkpoint(tmp_path, f"o{i}.safetensors", seed=20 + i), corpus["cmyk"])
            other.close()
        press = page.config.clicked("image-run")  # what the Analyse button runs (and the page chains after it)
        with pytest.raises(ErrorAnswer) as caught:
            page.act(press.api_name, [page.values.get(i) for i in press.inputs])
        message = str(caught.value)
        assert message.startswith(f"your uploaded network {mine[0]['value']} is no longer in memory"), message
        assert message.endswith("upload it again")
        assert not page.values[predictions]  # the failed analysis left no old view on the page
    finally:
        page.close()


@pytest.mark.server
@pytest.mark.slow
def test_a_million_tensor_file_is_refused_with_peak_memory_under_twice_the_idle_server(tmp_path, corpus):
    """The issue's file: 99 MB, 1.38 M scalar tensors. Refused from its header; the server barely notices."""
    path = hostile.many_tensors(tmp_path, 1_380_000)
    app = write_fake_app(tmp_path / "app")
    with AppServer(app, startup_timeout_s=180) as running:
        warm = _page(running)
        _load_checkpoint(warm, hostile.good_checkpoint(tmp_path), corpus["cmyk"])  # models and the upload path warm
        warm.close()
        time.sleep(2)
        idle = running.memory().rss_mb
        page = _page(running)
        try:
            with pytest.raises(ErrorAnswer) as caught:
                _load_checkpoint(page, path, corpus["cmyk"])
        finally:
            page.close()
        after = running.memory()
    assert str(caught.value) == "many_1380000.safetensors holds 1380000 tensors; a ResNet has at most a few thousand"
    assert after.hwm_mb < 2 * idle, f"peak {after.hwm_mb:.0f} MB against {idle:.0f} MB idle"
