"""What a job reads: a labelled folder or a CSV / Parquet list, written once as the run's listing.

A folder is ``<class name>/<file>`` (images, or clips for a clip model); an image's object mask, where there is
one, sits beside it as ``<file stem>.mask.png`` (non-zero = object). A list is a CSV or Parquet table with the
columns ``path`` and ``label`` (and optionally ``mask``); relative paths are read from the table's folder.

The listing (``<out>/listing/``) fixes the run: every input gets a row number, the rows are split into part
files of a whole number of batches (``part-00000.csv`` ...), and both engines read those parts, so a batch
holds the same inputs whoever runs it and an interrupted run resumes at a row number. It is written by
streaming over the source, so a million files cost a few hundred bytes of memory each only on disk.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from visualiser.dataset.decode import DecodedBatch, Prepare, Rows, decode_files
from visualiser.errors import InputError

if TYPE_CHECKING:
    import ray.data

MASK_SUFFIX = ".mask.png"
COLUMNS = ("index", "label", "path", "mask")
MAX_BATCHES_PER_PART = 8
TARGET_PARTS = 64  # a part is one Ray block: enough of them to keep as many actors busy, even for small sources


class Source(Protocol):
    """What an engine needs from a source: its classes and size, batches of rows, and how rows become inputs."""

    classes: tuple[str, ...]
    size: int
    description: str

    def row_batches(self, batch_size: int, first_row: int, worker: int = 0, workers: int = 1) -> Iterator[Rows]:
        """Rows ``first_row`` onwards in batches of ``batch_size``; batch j goes to worker ``j % workers``."""
        ...

    def decode(self, rows: Rows, prepare: Prepare) -> DecodedBatch:
        """The usable inputs of these rows (and the failures)."""
        ...

    def ray_dataset(self, first_row: int, batch_size: int) -> ray.data.Dataset:
        """The same rows as a Ray Dataset whose blocks are whole batches (read on the cluster)."""
        ...


@dataclass(frozen=True)
class Listing:
    """A written listing: where its parts are and what they hold."""

    folder: str
    source: str  # the folder or table that was listed
    classes: tuple[str, ...]
    size: int
    part_rows: int
    has_masks: bool

    @property
    def parts(self) -> list[Path]:
        """The part files, in row order."""
        count = -(-self.size // self.part_rows)
        return [Path(self.folder) / f"part-{p:05d}.csv" for p in range(count)]


class FileSource:
    """The files of a listing: decoded with the app's decoders, each batch from its own rows."""

    def __init__(self, listing: Listing) -> None:
        self.listing = listing
        self.classes = listing.classes
        self.size = listing.size
        self.description = f"files listed from {listing.source}"

    def _rows(self, first_row: int) -> Iterator[tuple[int, int, str, str]]:
        first_part = first_row // self.listing.part_rows
        for part in self.listing.parts[first_part:]:
            with part.open(newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    index = int(row["index"])
                    if index >= first_row:
                        yield index, int(row["label"]), row["path"], row["mask"]

    def row_batches(self, batch_size: int, first_row: int, worker: int = 0, workers: int = 1) -> Iterator[Rows]:
        """Batches of listed rows (see ``Source``)."""
        pending: list[tuple[int, int, str, str]] = []
        number = 0
        for row in self._rows(first_row):
            pending.append(row)
            if len(pending) == batch_size:
                if number % workers == worker:
                    yield _columns(pending)
                pending, number = [], number + 1
        if pending and number % workers == worker:
            yield _columns(pending)

    def decode(self, rows: Rows, prepare: Prepare) -> DecodedBatch:
        """Decode the files of these rows."""
        return decode_files(rows, prepare)

    def ray_dataset(self, first_row: int, batch_size: int) -> ray.data.Dataset:
        """``ray.data.read_csv`` over the part files (the cluster must see the listing and the files)."""
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import ray.data

        first_part = first_row // self.listing.part_rows
        types = {"index": pa.int64(), "label": pa.int64(), "path": pa.string(), "mask": pa.string()}
        parts = [str(p) for p in self.listing.parts[first_part:]]
        dataset = ray.data.read_csv(
            parts,
            override_num_blocks=len(parts),  # one block per part: whole batches, as the local engine makes them
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False),
            num_cpus=0,  # reading a few kB: it must not wait for the CPUs the model actors hold
        )
        if first_row % self.listing.part_rows:
            dataset = dataset.filter(lambda row: row["index"] >= first_row, num_cpus=0)
        return dataset


def _columns(rows: list[tuple[int, int, str, str]]) -> dict[str, np.ndarray]:
    index, label, path, mask = zip(*rows, strict=True)
    return {
        "index": np.array(index, np.int64),
        "label": np.array(label, np.int64),
        "path": np.array(path, dtype=object),
        "mask": np.array(mask, dtype=object),
    }


# --- listing ----------------------------------------------------------------------------------------------


def _folder_rows(folder: Path, suffixes: frozenset[str]) -> tuple[tuple[str, ...], Iterator[tuple[int, str, str]]]:
    classes = tuple(sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")))
    if not classes:
        raise InputError(f"{folder} has no class sub-folders; expected {folder}/<class name>/<files>")

    def rows() -> Iterator[tuple[int, str, str]]:
        for label, name in enumerate(classes):
            entries = sorted(
                (e.name for e in os.scandir(folder / name) if e.is_file() and not e.name.startswith(".")),
            )
            masks = {n[: -len(MASK_SUFFIX)]: n for n in entries if n.lower().endswith(MASK_SUFFIX)}
            for entry in entries:
                path = folder / name / entry
                if entry.lower().endswith(MASK_SUFFIX) or path.suffix.lower() not in suffixes:
                    continue
                mask = masks.get(path.stem)
                yield label, str(path.resolve()), str((folder / name / mask).resolve()) if mask else ""

    return classes, rows()


def _table_records(table: Path) -> Iterator[dict[str, Any]]:
    if table.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError(f"reading {table.name} needs pyarrow (pip install pyarrow); or give a CSV list") from None
        for batch in pq.ParquetFile(table).iter_batches(batch_size=65_536):
            yield from batch.to_pylist()
        return
    with table.open(newline="", encoding="utf-8-sig") as handle:
        yield from csv.DictReader(handle)


def _table_rows(table: Path) -> tuple[tuple[str, ...], Iterator[tuple[int, str, str]]]:
    names: set[str] = set()
    for n, record in enumerate(_table_records(table)):
        if n == 0 and not {"path", "label"} <= set(record):
            raise InputError(
                f"{table.name} needs the columns path and label (and optionally mask); it has {list(record)}"
            )
        names.add(str(record["label"]))
    if not names:
        raise InputError(f"{table.name} lists no files")
    numeric = all(name.lstrip("-").isdigit() for name in names)
    classes = tuple(sorted(names, key=int if numeric else str))
    label_of = {name: k for k, name in enumerate(classes)}
    base = table.parent

    def rows() -> Iterator[tuple[int, str, str]]:
        for record in _table_records(table):
            mask = str(record.get("mask") or "")
            yield (
                label_of[str(record["label"])],
                str((base / str(record["path"])).resolve()),
                str((base / mask).resolve()) if mask else "",
            )

    return classes, rows()


def write_listing(source: Path, suffixes: frozenset[str], folder: Path, batch_size: int) -> Listing:
    """List a folder or table into ``folder``: part files of whole batches, then ``listing.json`` (complete)."""
    if source.is_dir():
        classes, rows = _folder_rows(source, suffixes)
    elif source.is_file() and source.suffix.lower() in (".csv", ".parquet"):
        classes, rows = _table_rows(source)
    elif source.exists():
        raise InputError(f"{source} is neither a folder <class name>/<files> nor a .csv / .parquet list")
    else:
        raise InputError(f"{source}: no such folder or file")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "listing.json").unlink(missing_ok=True)  # a listing is complete only once its description is back
    for old in folder.glob("part-*.csv"):
        old.unlink()
    size, has_masks, part_rows = _write_parts(rows, folder, batch_size)
    if size == 0:
        kinds = ", ".join(sorted(suffixes))
        raise InputError(f"{source} has no usable files ({kinds}) under its class names")
    listing = Listing(str(folder.resolve()), str(source.resolve()), classes, size, part_rows, has_masks)
    tmp = folder / "listing.json.tmp"
    tmp.write_text(json.dumps(asdict(listing), indent=1), encoding="utf-8")
    tmp.replace(folder / "listing.json")
    return listing


def part_batches(batches: int) -> int:
    """Batches per part: ``TARGET_PARTS`` parts where the source is large enough, at most 8 batches each."""
    return max(1, min(MAX_BATCHES_PER_PART, -(-batches // TARGET_PARTS)))


def _write_parts(rows: Iterable[tuple[int, str, str]], folder: Path, batch_size: int) -> tuple[int, bool, int]:
    """Stream the rows to a scratch file (counting them), then into parts; returns (size, any mask, rows a part)."""
    scratch = folder / "rows.csv.tmp"
    size, has_masks = 0, False
    with scratch.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for label, path, mask in rows:
            writer.writerow((label, path, mask))
            has_masks = has_masks or bool(mask)
            size += 1
    part_rows = batch_size * part_batches(-(-size // batch_size))
    out = None
    try:
        with scratch.open(newline="", encoding="utf-8") as handle:
            for index, (label, path, mask) in enumerate(csv.reader(handle)):
                if index % part_rows == 0:
                    if out is not None:
                        out.close()
                    out = (folder / f"part-{index // part_rows:05d}.csv").open("w", newline="", encoding="utf-8")
                    writer = csv.writer(out)
                    writer.writerow(COLUMNS)
                writer.writerow((index, label, path, mask))
    finally:
        if out is not None:
            out.close()
        scratch.unlink()
    return size, has_masks, part_rows


def read_listing(folder: Path) -> Listing | None:
    """A complete listing written earlier in ``folder``, or None."""
    path = folder / "listing.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Listing(**{**data, "classes": tuple(data["classes"])})
