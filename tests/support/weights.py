"""Helpers for the weights tests: a local HTTP server for URL downloads, a fake Hugging Face hub, small specs.

Both servers are real ``http.server`` instances on 127.0.0.1 in a thread, so downloads run through the same
``urllib`` / ``huggingface_hub`` code as on a machine with internet, and every request is recorded.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from visualiser.models.registry import ModelSpec, Preprocess, WeightsSource
from visualiser.models.resnet import ResNetConfig, build_resnet

HUB_COMMIT = "0123456789abcdef0123456789abcdef01234567"


class _Server:
    """A threaded HTTP server on 127.0.0.1 whose requests are recorded as ``"METHOD /path"`` / ``"/path"``."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        self.requests: list[str] = []
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class WeightsServer(_Server):
    """Serves ``root``; ``/truncated/<file>`` promises more bytes than it sends, ``/slow/<file>`` takes ~2 s."""

    def __init__(self, root: Path) -> None:
        self.root = root

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

            def do_GET(self) -> None:
                self.server.owner.requests.append(self.path)  # type: ignore[attr-defined]
                if self.path.startswith("/slow/"):  # a download long enough for a client to see its progress
                    body = (root / self.path.removeprefix("/slow/")).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    step = max(1, len(body) // 40)
                    for start in range(0, len(body), step):
                        self.wfile.write(body[start : start + step])
                        self.wfile.flush()
                        time.sleep(0.05)
                    return
                if self.path.startswith("/truncated/"):
                    body = (root / self.path.removeprefix("/truncated/")).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 3])
                    self.close_connection = True
                    return
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(Handler)

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"


class FakeHub(_Server):
    """Answers the hub's ``HEAD`` / ``GET /{repo}/resolve/{revision}/{file}`` with the files put in ``files``."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}  # "org/name/filename" -> bytes

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, with_body: bool) -> None:
                hub = self.server.owner  # type: ignore[attr-defined]
                hub.requests.append(f"{self.command} {self.path}")
                repo_and_file = self.path.replace("/resolve/main/", "/", 1).lstrip("/")
                body = hub.files.get(repo_and_file)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", f'"{hashlib.sha256(body).hexdigest()}"')
                self.send_header("X-Repo-Commit", HUB_COMMIT)
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def do_HEAD(self) -> None:
                self._answer(with_body=False)

            def do_GET(self) -> None:
                self._answer(with_body=True)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(Handler)

    @property
    def url_template(self) -> str:
        """What ``huggingface_hub.constants.HUGGINGFACE_CO_URL_TEMPLATE`` becomes to point the hub here."""
        return self.base + "/{repo_id}/resolve/{revision}/{filename}"


def tiny_state() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return {"a.weight": torch.randn(4, 3, generator=g), "a.bias": torch.randn(4, generator=g)}


def pth_bytes(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def safetensors_bytes(tensors: dict[str, torch.Tensor], tmp: Path) -> bytes:
    path = tmp / "tensors.safetensors"
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))
    return path.read_bytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def tiny_resnet() -> nn.Module:
    """A two-stage SE-ResNet small enough to build in milliseconds (3 classes, 32 px inputs)."""
    cfg = ResNetConfig(block="basic", layers=(1, 1), widths=(8, 16), stem_width=8, style="caffe", attn="se",
                       attn_options=(("reduction", 4),), num_classes=3)  # fmt: skip
    torch.manual_seed(0)
    return build_resnet(cfg).eval()


def spec_with(
    source: WeightsSource, name: str = "test_model", builder: Callable[[], nn.Module] | None = None
) -> ModelSpec:
    return ModelSpec(
        name=name,
        title="test network",
        task="image",
        builder=builder or (lambda: nn.Linear(3, 4)),
        weights=source,
        preprocess=Preprocess(),
        labels="imagenet1k",
        attention="none",
    )


def url_spec(url: str, checksum: str | None, name: str = "test_model", **source: object) -> ModelSpec:
    return spec_with(WeightsSource(kind="url", location=url, checksum=checksum, **source), name)  # type: ignore[arg-type]


def hub_spec(repo: str = "timm/seresnet50.a1_in1k", name: str = "seresnet50.a1_in1k", **source: object) -> ModelSpec:
    return spec_with(WeightsSource(kind="hub", location=repo, filename="model.safetensors", **source), name)  # type: ignore[arg-type]


def make_hub_cache(hub_cache: Path, repo: str, tensors: dict[str, torch.Tensor]) -> Path:
    """The hub's cache layout: models--org--name/{refs/main, snapshots/<commit>/<file>}."""
    repo_dir = hub_cache / ("models--" + repo.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / HUB_COMMIT
    snapshot.mkdir(parents=True)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(HUB_COMMIT)
    save_file(tensors, str(snapshot / "model.safetensors"))
    return snapshot / "model.safetensors"
