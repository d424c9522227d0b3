"""Files and text a user hands to a task (`rnnkit predict RUN image.png`, `-o corpus=FILE`,
`--data DIR`): read like the shipped data where they mean the same, refused in one line that
names the file and what is wrong where they cannot be read."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from rnnkit import tasks
from rnnkit.tasks.mnist_rows import _read_image
from rnnkit.tasks.text import read_corpus, split_corpus


@pytest.fixture
def digit():
    return np.random.default_rng(0).integers(0, 256, size=(28, 28)).astype(np.uint8)


def test_mnist_rows_reads_png_and_npy_in_either_case_of_suffix(tmp_path, digit):
    from PIL import Image

    Image.fromarray(digit, "L").save(tmp_path / "d.png")
    np.save(tmp_path / "d.npy", digit)
    (tmp_path / "D.NPY").write_bytes((tmp_path / "d.npy").read_bytes())  # was read as an image file
    for name in ("d.png", "d.npy", "D.NPY"):
        np.testing.assert_allclose(_read_image(tmp_path / name), digit / 255.0, atol=1e-6)


@pytest.mark.parametrize(("content", "message"), [
    (b"not an image at all", "not a readable image"),  # PIL raised SyntaxError: a traceback from the CLI
    (np.full((28, 28), np.nan), "NaN or infinity"),
    (np.full((28, 28), 1000.0), r"0\.\.1 or 0\.\.255, found 1000\.\.1000"),  # was divided by 255 to 3.9
    (np.full((28, 28), -1.0), r"found -1\.\.-1"),
    (np.array([{"a": 1}], dtype=object), "not a readable image"),  # a pickle: np.load's message named no file
])
def test_mnist_rows_refuses_unreadable_images_naming_the_file(tmp_path, content, message):
    path = tmp_path / ("bad.png" if isinstance(content, bytes) else "bad.npy")
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.save(path, content, allow_pickle=True)
    with pytest.raises(ValueError, match=rf"bad\.(png|npy): .*{message}"):
        tasks.get("mnist-rows").encode_inputs([str(path)], {})


def test_mnist_rows_refuses_training_files_that_are_not_28x28(tmp_path):
    def idx(magic, array):
        return magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape) + array.tobytes()

    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx(2051, np.zeros((4, 32, 32), np.uint8))))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx(2049, np.arange(4, dtype=np.uint8)))
    task = tasks.get("mnist-rows")
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz: images of 32x32 pixels, .* needs 28x28"):
        task.load(task.parse_options({"data": str(tmp_path)}))


PARAGRAPHS = "\n\n".join(f"Paragraph {i}: some words of a small corpus, long enough to be kept." for i in range(700))


def test_text_corpus_with_a_byte_order_mark_or_crlf_reads_as_the_plain_text(tmp_path):
    # the BOM was read as a character: U+FEFF started the first (validation) paragraph
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + PARAGRAPHS.encode())
    (tmp_path / "crlf.txt").write_bytes(PARAGRAPHS.replace("\n", "\r\n").encode())
    for name in ("bom.txt", "crlf.txt"):
        text, _ = read_corpus(str(tmp_path / name))
        assert text == PARAGRAPHS
        assert split_corpus(text) == split_corpus(PARAGRAPHS)


def test_text_corpus_errors_name_the_file_and_the_problem(tmp_path):
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(("Café\n\n" + PARAGRAPHS).encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1\.txt: not UTF-8 text \(byte 3 is 0xe9\)"):
        read_corpus(str(latin))
    plain = tmp_path / "plain.txt"
    plain.write_text(PARAGRAPHS, encoding="utf-8")
    task = tasks.get("text")
    # 12 blocks: the test text is one block of about 4,000 characters, too short for 5,000 steps
    with pytest.raises(ValueError, match=r"steps=5000 is too long for the test text of 4,\d{3} characters"):
        task.load(task.parse_options({"corpus": str(plain), "steps": 5000}))


def test_numbers_refuses_digit_characters_that_are_not_decimal_digits():
    task = tasks.get("numbers")
    assert task.normalise_source("١٢٣") == "123"  # Arabic-Indic digits are decimal digits
    with pytest.raises(ValueError, match=r"'2²' is not a whole number written with digits"):
        task.normalise_source("2²")  # isdigit() let it through to int(): "invalid literal for int()"


@pytest.mark.parametrize("text", ["", "x" * 300, "no-such.png"])
def test_mnist_rows_input_that_is_no_file_says_what_an_input_is(text):
    # "" was reported as '.', and 300 characters raised OSError "File name too long"
    with pytest.raises(ValueError, match=rf"must be 'test:N' or an image file \(\.png, \.npy\), got '{text}'"):
        tasks.get("mnist-rows").encode_inputs([text], {})
