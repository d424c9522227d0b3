"""What the seq2seq tasks (numbers, dates) share: vocabularies, the encoder–decoder, training on
packed pairs, exact-match scoring, and decoding user input greedily or with beam search.

A subclass gives the pairs and the alphabets::

    source_alphabet: str                    characters a source may hold (after normalising)
    target_symbols: tuple[str, ...]          the target tokens
    make_pairs(options, seed) -> {"train": [(source, target tokens)], "val": [...], "test": [...]}
    normalise_source(text) -> str            user input -> the form the sources take (ValueError if bad)
    join_target(tokens) -> str               target tokens -> text

Data layout (rnnkit.tasks.base, seq2seq): ``x`` the source ids padded with 0, ``lengths`` their
lengths, ``y`` the target ids (without BOS/EOS) padded with 0, ``extra["y_lengths"]`` their
lengths and ``extra["sources"]``/``["targets"]`` the texts. ``fit``/``evaluate`` pack them for
the EncoderDecoder (rnnkit.models.seq2seq). Held-out score: ``accuracy`` is the share of test
sources whose greedy decoding is exactly the target (exact match); ``token_accuracy`` the
teacher-forced share of right next tokens (the ``accuracy`` that training logs).
"""

from __future__ import annotations

import numpy as np

from rnnkit.models.seq2seq import BOS, EOS, EncoderDecoder
from rnnkit.tasks.base import HParams, Option, Split, Task, TaskData

SPECIALS = ("<pad>", "<bos>", "<eos>")
OPTIONS = (
    Option("attention", 64, "additive attention units (0: no attention)", type=int),
    Option("bridge", "concat", "bidirectional encoder states into the decoder: concat or project",
           ("concat", "project")),
)


class Seq2SeqTask(Task):
    kind = "seq2seq"
    monitor = "val_loss"
    accuracy_counts = "exact match"
    embeds_tokens = True
    source_alphabet = ""
    target_symbols: tuple[str, ...] = ()

    # -- subclass hooks ----------------------------------------------------------------------------
    def make_pairs(self, options: dict, seed: int) -> dict[str, list[tuple[str, list[str]]]]:
        raise NotImplementedError

    def normalise_source(self, text: str) -> str:
        return text

    def join_target(self, tokens) -> str:
        return "".join(tokens)

    def hparams(self, options, **overrides):
        """As Task.hparams, refusing the dropout the EncoderDecoder cannot apply: it has no input
        dropout, and its dropout acts only between stacked layers (none with --layers 1), so a
        run would record a rate that never touched the model."""
        hp = super().hparams(options, **overrides)
        if hp.input_dropout:
            raise ValueError(f"{self.name}: --input-dropout is not supported by the encoder-decoder, "
                             f"got {hp.input_dropout}")
        if hp.dropout and hp.layers == 1:
            raise ValueError(f"{self.name}: --dropout acts only between the stacked layers of the encoder and "
                             f"decoder; give --layers 2 or more, or no --dropout (got {hp.dropout} with 1 layer)")
        return hp

    # -- data ----------------------------------------------------------------------------------------
    def load(self, options, seed=0):
        if options["attention"] < 0:
            raise ValueError(f"attention must be >= 0 units, got {options['attention']}")
        pairs = self.make_pairs(options, seed)
        source_vocabulary = ["<pad>", *self.source_alphabet]
        target_vocabulary = [*SPECIALS, *self.target_symbols]
        s_index = {c: i for i, c in enumerate(source_vocabulary)}
        t_index = {c: i for i, c in enumerate(target_vocabulary)}
        splits = {}
        for key, items in pairs.items():
            src = [[s_index[c] for c in s] for s, _ in items]
            tgt = [[t_index[t] for t in tokens] for _, tokens in items]
            x, lengths = _pad(src)
            y, y_lengths = _pad(tgt)
            splits[key] = Split(x, y, lengths, {"y_lengths": y_lengths, "source_ids": src, "target_ids": tgt,
                                                "sources": [s for s, _ in items],
                                                "targets": [self.join_target(t) for _, t in items]})
        longest = max(len(t) for items in pairs.values() for _, t in items)
        meta = {"source_vocabulary": source_vocabulary, "target_vocabulary": target_vocabulary,
                "attention": options["attention"], "bridge": options["bridge"],
                "max_target_length": longest + 5, "input_shape": [None, 2]}
        return TaskData(splits["train"], splits["val"], splits["test"], meta)

    def build_model(self, hp: HParams, meta):
        model = EncoderDecoder(len(meta["source_vocabulary"]), len(meta["target_vocabulary"]), cell=hp.cell,
                               units=hp.hidden, embedding=hp.embedding, layers=hp.layers,
                               bidirectional=hp.bidirectional, bridge=meta["bridge"], attention=meta["attention"],
                               dropout=hp.dropout, max_target_length=meta["max_target_length"], seed=hp.seed)
        model.build()
        return self.compile(model, hp, "sparse_categorical_crossentropy", ["accuracy"])

    @staticmethod
    def packed(model, part: Split):
        return model.pack(part.extra["source_ids"], part.extra["target_ids"])

    def fit(self, model, data, hp, callbacks=(), verbose=1):
        x, y = self.packed(model, data.train)
        validation = self.packed(model, data.val)
        return model.fit(x, y, batch_size=hp.batch_size, epochs=hp.epochs, validation_data=validation,
                         callbacks=list(callbacks), verbose=verbose)

    def evaluate(self, model, data, split="test"):
        part = self.split(data, split)
        logs = model.evaluate(*self.packed(model, part))
        right = 0
        for start in range(0, len(part), 512):
            hyps = model.greedy_decode(part.extra["source_ids"][start : start + 512])
            right += sum(h.tokens == t for h, t in zip(hyps, part.extra["target_ids"][start : start + 512]))
        return {"accuracy": right / len(part), "token_accuracy": logs["accuracy"], "loss": logs["loss"]}

    # -- user input ----------------------------------------------------------------------------------
    def encode_sources(self, inputs, meta) -> list[list[int]]:
        index = {c: i for i, c in enumerate(meta["source_vocabulary"]) if i > 0}
        out = []
        for text in inputs:
            s = self.normalise_source(text)
            bad = sorted(set(s) - set(index))
            if not s or bad:
                raise ValueError(f"{self.name}: cannot read {text!r} (characters allowed: "
                                 f"{''.join(meta['source_vocabulary'][1:])!r})")
            out.append([index[c] for c in s])
        return out

    def target_text(self, ids, meta) -> str:
        vocabulary = meta["target_vocabulary"]
        return self.join_target([vocabulary[i] for i in ids if i not in (0, BOS, EOS)])

    def translate(self, model, text: str, meta, *, beam: int = 0, length_penalty: float = 0.0):
        """[(output text, hypothesis)] for one input: the greedy output, or the `beam` best."""
        source = self.encode_sources([text], meta)[0]
        if beam:
            hyps = model.beam_search(source, beam_width=beam, length_penalty=length_penalty)
        else:
            hyps = model.greedy_decode([source], length_penalty=length_penalty)
        return [(self.target_text(h.tokens, meta), h) for h in hyps]

    def source_symbols(self, text: str) -> list[str]:
        """The characters the model reads for `text` (attention plot labels)."""
        return list(self.normalise_source(text))

    def target_symbols_of(self, ids, meta) -> list[str]:
        vocabulary = meta["target_vocabulary"]
        return [vocabulary[i] for i in ids]

    def predict(self, model, inputs, meta, top_k=3):
        if not inputs:
            raise ValueError("give at least one input to translate")
        hyps = model.greedy_decode(self.encode_sources(inputs, meta))
        width = max(len(s) for s in inputs)
        return [f"{s:<{width}} -> {self.target_text(h.tokens, meta)}" for s, h in zip(inputs, hyps)]


def _pad(seqs) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    out = np.zeros((len(seqs), max(1, int(lengths.max()))), dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out, lengths


def split_counts(n: int, val: int, test: int, rng: np.random.Generator, items: list) -> dict[str, list]:
    """Shuffle items and cut them into train / val / test (the held-out ones never in train)."""
    order = rng.permutation(len(items))
    shuffled = [items[i] for i in order]
    return {"test": shuffled[:test], "val": shuffled[test : test + val], "train": shuffled[test + val : test + val + n]}
