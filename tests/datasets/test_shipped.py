"""Every file shipped under rnnkit/data/ is listed, with its sha256, in its folder's SOURCE.md."""

from __future__ import annotations

import hashlib
import re
from importlib import resources

import pytest

DATA = resources.files("rnnkit").joinpath("data")
FOLDERS = sorted(p.name for p in DATA.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
HASH_LINE = re.compile(r"\b([0-9a-f]{64})\s+([\w.\-]+)")
DOCS = ("SOURCE.md", "LICENSE")  # attribution files, not data


def test_expected_folders_are_shipped():
    assert FOLDERS == ["echo", "mnist", "names", "names_aiedu", "pm25", "polyphonic", "sentiment"]


@pytest.mark.parametrize("folder", FOLDERS)
def test_sha256_of_every_shipped_file_matches_source_md(folder):
    source = DATA.joinpath(folder, "SOURCE.md")
    assert source.is_file(), f"data/{folder} has no SOURCE.md"
    text = source.read_text(encoding="utf-8")
    assert "license" in text.lower(), f"data/{folder}/SOURCE.md says nothing about the license"
    listed = {name: digest for digest, name in HASH_LINE.findall(text)}
    files = [p for p in DATA.joinpath(folder).iterdir() if p.is_file() and not p.name.startswith(DOCS)]
    assert files
    for path in files:
        assert path.name in listed, f"data/{folder}/{path.name} has no sha256 line in SOURCE.md"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed[path.name], f"data/{folder}/{path.name}"


def test_shipped_total_stays_small():
    with resources.as_file(DATA) as root:
        total = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    assert total < 6 * 2**20, f"package data is {total / 2**20:.2f} MiB"
