"""Class names a user brings with a checkpoint: one a line, bounded, no control characters, a sentence otherwise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from visualiser.errors import InputError
from visualiser.labels import load_labels
from visualiser.models.upload_labels import MAX_LABEL_CHARS, MAX_LABELS, MAX_LABELS_BYTES, read_labels


def _file(tmp_path: Path, data: bytes, name: str = "labels.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_lines_end_at_newline_only(tmp_path: Path) -> None:
    assert read_labels(_file(tmp_path, b"cat\r\ndog\nheron \n\n")) == ("cat", "dog", "heron")
    assert read_labels(_file(tmp_path, "\ufeffcat\ndog".encode())) == ("cat", "dog")  # a BOM is not a name
    assert read_labels(["a b", "c"]) == ("a b", "c")


@pytest.mark.parametrize(("separator", "code"), [("\r", "U+000D"), ("\x1c", "U+001C"), ("\u2028", "U+2028"),
                                                 ("\x00", "U+0000"), ("\t", "U+0009")])  # fmt: skip
def test_other_line_breaks_and_control_characters_are_refused(tmp_path: Path, separator: str, code: str) -> None:
    """``str.splitlines`` would cut "cat<sep>dog" into two classes and shift every name after it."""
    path = _file(tmp_path, f"bird\ncat{separator}dog\nfish\n".encode())
    with pytest.raises(InputError, match=rf"^labels\.txt: name 2 holds the control character {re.escape(code)};"):
        read_labels(path)
    with pytest.raises(InputError, match=rf"^the labels: name 1 holds the control character {re.escape(code)}"):
        read_labels([f"cat{separator}dog"])


def test_length_and_count_are_bounded(tmp_path: Path) -> None:
    long = "x" * (MAX_LABEL_CHARS + 1)
    too_long = rf"name 2 is {MAX_LABEL_CHARS + 1} characters long; .* at most {MAX_LABEL_CHARS}"
    with pytest.raises(InputError, match=too_long):
        read_labels(_file(tmp_path, f"a\n{long}\n".encode()))
    assert read_labels(["x" * MAX_LABEL_CHARS]) == ("x" * MAX_LABEL_CHARS,)
    many = "\n".join(f"c{i}" for i in range(MAX_LABELS + 1)).encode()
    with pytest.raises(InputError, match=rf"has {MAX_LABELS + 1} names; at most {MAX_LABELS} classes"):
        read_labels(_file(tmp_path, many))
    with pytest.raises(InputError, match="is over 2 MB"):
        read_labels(_file(tmp_path, b"x" * (MAX_LABELS_BYTES + 1)))


def test_file_names_in_messages_are_bounded_and_printable(tmp_path: Path) -> None:
    path = _file(tmp_path, b"\xff\xfe not utf-8", name="l" * 200 + ".txt")
    with pytest.raises(InputError) as caught:
        read_labels(path)
    assert len(str(caught.value)) < 160 and "…" in str(caught.value) and "not UTF-8 text" in str(caught.value)
    with pytest.raises(InputError, match=r"^a\\nb\.txt: no such labels file"):
        read_labels(tmp_path / "a\nb.txt")


def test_shipped_label_files_split_at_newline_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from visualiser import labels

    (tmp_path / "names.txt").write_bytes(b"one\x1cstill one\ntwo\n")
    monkeypatch.setattr(labels, "ASSETS_DIR", tmp_path)
    load_labels.cache_clear()
    try:
        assert load_labels("file:names.txt") == ("one\x1cstill one", "two")
    finally:
        load_labels.cache_clear()
