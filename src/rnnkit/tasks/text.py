"""Character-level language model and text generation (seeds 000 and 004: one-to-many).

Data: the reference documentation that ships with every CPython, ``pydoc_data/topics.py``
(the text behind ``help("for")``; © Python Software Foundation, PSF License v2, which allows
copying with the notice kept), read at load time so nothing is downloaded. Its topics repeat
each other heavily (whole sections appear under several keys), so the corpus keeps each
paragraph longer than 30 characters once, then is cut into blocks of about 4,000 characters
of whole paragraphs: every 10th block (from the 1st) is validation, every 10th from the 6th is
the held-out test text, the rest is training text. ``-o corpus=PATH`` takes any UTF-8 text file
instead. The vocabulary is the training text's characters plus one id for characters never
seen in training.

Model: Embedding -> GRU/LSTM (stacked) -> Dense(V) at every step (``--dropout`` on the input and output
of every recurrent layer, never on the recurrent path), trained on windows of
``--steps`` characters to predict the next character (softmax cross-entropy).

Held-out score: bits per character of the whole test text read as a stream (the state carried
from character to character, 16 streams side by side, so each character is predicted from all
the text before it in its stream), against an order-``-o order=N`` character n-gram model with
interpolated modified Kneser–Ney smoothing fitted on the same training text (rnnkit.ngram).
``rnnkit generate RUN --prefix ... --length ... --temperature ...`` prints a sample.
"""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path

import numpy as np

from rnnkit import Sequential
from rnnkit.generation import generate
from rnnkit.layers import Dense, Dropout, Embedding
from rnnkit.ngram import KneserNey
from rnnkit.tasks.base import HParams, Option, Split, Task, TaskData, recurrent_block

UNKNOWN = "\ufffd"  # stands for every character the training text does not hold (id 0)
BLOCK = 4000


def read_corpus(corpus: str) -> tuple[str, str]:
    """(text, where it came from) for 'pydoc' or a path to a UTF-8 text file."""
    if corpus == "pydoc":
        from pydoc_data import topics

        text = "\n\n".join(topics.topics[k] for k in sorted(topics.topics))
        return text, f"pydoc_data/topics.py of Python {sys.version.split()[0]}"
    path = Path(corpus)
    if not path.is_file():
        raise ValueError(f"corpus must be 'pydoc' or a UTF-8 text file, got {corpus!r}")
    try:
        # utf-8-sig: a byte-order mark (Windows editors write one) is not a character of the text;
        # text mode turns CRLF and CR line ends into "\n", so paragraphs split the same everywhere
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"corpus {path}: not UTF-8 text (byte {e.start} is 0x{e.object[e.start]:02x}); "
                         "convert it to UTF-8 first") from None
    return text, str(path)


def split_corpus(text: str) -> tuple[str, str, str]:
    """(train, validation, test) texts: unique paragraphs, cut into blocks, every 10th held out."""
    seen, paragraphs = set(), []
    for p in text.split("\n\n"):
        if len(p) > 30 and p in seen:
            continue
        seen.add(p)
        paragraphs.append(p)
    blocks, current, size = [], [], 0
    for p in paragraphs:
        current.append(p)
        size += len(p) + 2
        if size >= BLOCK:
            blocks.append("\n\n".join(current))
            current, size = [], 0
    if current:
        blocks.append("\n\n".join(current))
    if len(blocks) < 10:
        # blocks hold whole paragraphs: a large text without blank lines is one block, and
        # calling it "too small" alone would send the user looking for more text
        raise ValueError(f"the corpus is too small: {len(blocks)} blocks of {BLOCK} characters, need 10 "
                         f"(a block holds whole paragraphs, separated by blank lines; this text of "
                         f"{len(text):,} characters has {len(paragraphs):,} distinct paragraphs)")
    parts = {0: [], 5: [], None: []}
    for i, b in enumerate(blocks):
        parts.get(i % 10, parts[None]).append(b)
    return tuple("\n\n".join(parts[k]) for k in (None, 0, 5))


def encode(text: str, vocabulary: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(vocabulary)}
    return np.array([index.get(c, 0) for c in text], dtype=np.int64)


def decode(ids, vocabulary: list[str]) -> str:
    return "".join(vocabulary[i] for i in np.asarray(ids).reshape(-1))


def windows(ids: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive windows: x (N, steps) and y = x shifted by one character."""
    n = (len(ids) - 1) // steps
    x = ids[: n * steps].reshape(n, steps)
    y = ids[1 : n * steps + 1].reshape(n, steps)
    return x, y


def stream_bits_per_char(model, ids: np.ndarray, streams: int = 16) -> float:
    """Bits per character of ids[1:], each predicted from everything before it in its stream.

    The text is cut into `streams` consecutive pieces read side by side, one step at a time
    with the state carried (rnnkit.models.stepping); piece k starts by reading its first
    character, so every character but ids[0] is scored exactly once."""
    ids = np.asarray(ids)
    streams = max(1, min(streams, (len(ids) - 1) // 2))
    bounds = np.linspace(0, len(ids) - 1, streams + 1).astype(int)  # piece k reads ids[b_k : b_k+1]
    steps = np.diff(bounds)
    state = model.initial_state(streams)
    total, T = 0.0, int(steps.max())
    for t in range(T):
        live = t < steps
        pos = np.minimum(bounds[:-1] + t, len(ids) - 2)
        logits, state = model.step(ids[pos], state)
        z = np.asarray(logits, dtype=np.float64)
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        total -= logp[np.arange(streams), ids[pos + 1]][live].sum()
    return float(total / (len(ids) - 1) / math.log(2))


class Text(Task):
    name = "text"
    pattern = "character-level language model; one-to-many generation"
    data = "Python's own documentation text (pydoc_data/topics.py, PSF License), or -o corpus=FILE"
    size = "pydoc (3.11): 376k unique characters -> 299k train / 40k val / 37k test; V = 104"
    kind = "density"
    reference = "held-out bits per character below an order-5 Kneser–Ney character n-gram on the same text"
    embeds_tokens = True
    predict_example = ("The ",)
    monitor = "val_loss"
    options = (
        Option("corpus", "pydoc", "'pydoc' (Python's documentation) or a path to a UTF-8 text file", path=True),
        Option("steps", 100, "characters per training window", type=int),
        Option("order", 5, "order of the n-gram baseline", type=int),
    )

    def defaults(self, options):
        return dict(cell="gru", hidden=256, layers=2, embedding=64, dropout=0.3, epochs=40, batch_size=64,
                    lr=2e-3, clipnorm=5.0)

    def texts(self, options) -> tuple[str, str, str, str]:
        text, source = read_corpus(options["corpus"])
        return (*split_corpus(text), source)

    def load(self, options, seed=0):
        if options["steps"] < 2 or options["order"] < 1:
            raise ValueError("steps must be >= 2 and order >= 1")
        train, val, test, source = self.texts(options)
        vocabulary = [UNKNOWN, *sorted(set(train) - {UNKNOWN})]
        parts = {}
        for key, text in (("train", train), ("val", val), ("test", test)):
            ids = encode(text, vocabulary)
            x, y = windows(ids, options["steps"])
            if not len(x):  # an empty split would fail later, inside fit or evaluate, far from the cause
                raise ValueError(f"steps={options['steps']} is too long for the {key} text of {len(text):,} "
                                 f"characters (a window needs steps + 1): give a smaller -o steps")
            parts[key] = Split(x, y, None, {"ids": ids})
        meta = {"classes": vocabulary, "input_shape": [None], "corpus": source, "order": options["order"],
                "sha256": hashlib.sha256((train + val + test).encode()).hexdigest(),
                "characters": {"train": len(train), "val": len(val), "test": len(test)}}
        return TaskData(parts["train"], parts["val"], parts["test"], meta)

    def build_model(self, hp: HParams, meta):
        V = len(meta["classes"])
        layers = [Embedding(V, hp.embedding), recurrent_block(hp, return_sequences=True), Dense(V)]
        if hp.dropout:  # on each layer's input and output at the same step (never on h_{t-1} -> h_t)
            layers[1:1] = [Dropout(hp.dropout)]
            layers[-1:-1] = [Dropout(hp.dropout)]
        if hp.input_dropout:  # on the embedded characters, every step's input
            layers[1:1] = [Dropout(hp.input_dropout)]
        model = Sequential(layers, seed=hp.seed, dtype=np.float32, input_shape=(None,))
        return self.compile(model, hp, "sparse_categorical_crossentropy", ["accuracy"])

    def baseline_bits_per_char(self, data: TaskData, split: str, order: int) -> float:
        """The Kneser–Ney n-gram's bits per character on the split, scored like the RNN (all but the first)."""
        vocabulary = data.meta["classes"]
        train = decode(data.train.extra["ids"], vocabulary)
        text = decode(self.split(data, split).extra["ids"], vocabulary)
        return KneserNey(order, "".join(vocabulary)).fit(train).bits_per_char(text, start=1)

    def evaluate(self, model, data, split="test"):
        part, order = self.split(data, split), data.meta["order"]
        bpc = stream_bits_per_char(model, part.extra["ids"])
        return {"bits_per_char": bpc, f"ngram{order}_bits_per_char": self.baseline_bits_per_char(data, split, order),
                "loss": float(model.evaluate(part.x, part.y)["loss"])}

    # -- generation ------------------------------------------------------------------------------
    def generate(self, model, meta, prefix: str, length: int, *, temperature: float = 1.0,
                 top_k: int | None = None, seed: int | None = 0) -> str:
        """`prefix` continued by `length` characters (temperature 0: greedy)."""
        if not prefix:
            prefix = "\n"
        ids = encode(prefix, meta["classes"])
        rng = None if temperature == 0 else np.random.default_rng(seed)
        return decode(generate(model, ids, length, temperature=temperature, top_k=top_k, rng=rng), meta["classes"])

    def predict(self, model, inputs, meta, top_k=3):
        if not inputs:
            raise ValueError("give at least one prefix to continue")
        return [f"{s}{self.generate(model, meta, s, 80, temperature=0)}" for s in inputs]
