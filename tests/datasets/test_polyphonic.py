import numpy as np
import pytest

from rnnkit.datasets import polyphonic

# data/polyphonic/SOURCE.md
COUNTS = {"jsb_chorales": (229, 76, 77), "nottingham": (694, 173, 170)}
FRAMES = {"jsb_chorales": (13807, 4602, 4725), "nottingham": (176561, 45513, 44463)}
PITCHES = {"jsb_chorales": (43, 96), "nottingham": (31, 93)}
MAX_NOTES = {"jsb_chorales": 4, "nottingham": 9}
# nats per frame summed over the 88 keys, train / valid / test (JSB train computes to 11.093: within 0.01)
BERNOULLI_NLL = {"jsb_chorales": (11.10, 10.95, 11.06), "nottingham": (10.06, 10.00, 10.25)}


@pytest.fixture(scope="module", params=sorted(COUNTS))
def named(request):
    return request.param, polyphonic.load(request.param)


def test_counts_frames_and_pitches(named):
    name, data = named
    assert tuple(len(data[s]) for s in polyphonic.SPLITS) == COUNTS[name]
    assert tuple(sum(len(r) for r in data[s]) for s in polyphonic.SPLITS) == FRAMES[name]
    allrolls = np.concatenate([r for s in polyphonic.SPLITS for r in data[s]])
    assert allrolls.dtype == np.uint8 and allrolls.shape[1] == 88 and set(np.unique(allrolls)) == {0, 1}
    used = np.flatnonzero(allrolls.any(axis=0)) + 21
    assert (used.min(), used.max()) == PITCHES[name]
    assert allrolls.sum(axis=1).max() == MAX_NOTES[name]


def test_jsb_details():
    train = polyphonic.load("jsb_chorales")["train"]
    lengths = [len(r) for r in train]
    assert (min(lengths), int(np.median(lengths)), max(lengths)) == (25, 57, 129)
    assert sum(int((r.sum(axis=1) == 0).sum()) for r in train) == 18  # empty frames


def test_independent_bernoulli_reference_nll(named):
    name, data = named
    p = np.concatenate(data["train"]).mean(axis=0)  # per-key marginals of the training frames
    p = np.clip(p, 1e-6, 1 - 1e-6)  # keys never played in train: a tiny probability
    for split, expected in zip(polyphonic.SPLITS, BERNOULLI_NLL[name]):
        frames = np.concatenate(data[split]).astype(np.float64)
        ll = frames @ np.log(p) + (1 - frames) @ np.log1p(-p)  # (frames,)
        assert abs(-ll.mean() - expected) <= 0.01, (split, -ll.mean())


def test_next_frame_pairs():
    rolls = polyphonic.load("jsb_chorales")["valid"][:5]
    x, y, lengths = polyphonic.next_frame_pairs(rolls)
    assert lengths.tolist() == [len(r) - 1 for r in rolls]
    assert x.shape == y.shape == (5, max(len(r) for r in rolls) - 1, 88)
    for b, roll in enumerate(rolls):
        np.testing.assert_array_equal(x[b, : lengths[b]], roll[:-1])
        np.testing.assert_array_equal(y[b, : lengths[b]], roll[1:])
        assert not x[b, lengths[b] :].any() and not y[b, lengths[b] :].any()
    with pytest.raises(ValueError):
        polyphonic.next_frame_pairs([np.zeros((1, 88), np.uint8)])
    with pytest.raises(ValueError):
        polyphonic.load("muse")
