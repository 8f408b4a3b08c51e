"""Tests for the text baselines in helpers.baselines: most-frequent tag, bigram HMM and character n-grams."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from helpers.baselines import (
    BigramHMM,
    CharNGram,
    MostFrequentTag,
    fit_bigram_hmm,
    fit_most_frequent_tag,
    tagging_accuracy,
)
from helpers.data import pos_splits


def _t(values: list[int]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.int64)


def test_most_frequent_tag_majority_ties_and_unseen_words():
    # word 1 tagged 0 twice and 1 once -> 0; word 2 tagged 1 and 2 once each -> 1 (tie: smaller);
    # word 3 tagged 2 -> 2; words 0 (<unk>) and 4 never seen -> the most frequent tag overall (0)
    pairs = [(_t([1, 2, 3]), _t([0, 1, 2])), (_t([1, 1, 2]), _t([0, 1, 2])), (_t([1]), _t([0]))]
    model = fit_most_frequent_tag(pairs, vocab_size=5, n_tags=3)
    assert isinstance(model, MostFrequentTag)
    assert model.table.tolist() == [0, 0, 1, 2, 0] and model.fallback == 0
    assert model(_t([4, 3, 2, 1, 0])).tolist() == [0, 2, 1, 0, 0]
    assert model(torch.tensor([[1, 3]])).shape == (1, 2)


def test_most_frequent_tag_skips_padding():
    pairs = [(_t([1, 0, 0]), _t([2, -100, -100]))]
    model = fit_most_frequent_tag(pairs, vocab_size=2, n_tags=3)
    assert model.table.tolist() == [2, 2]   # index 0 only ever padded: unseen -> fallback 2


def test_unknown_words_go_where_the_network_sees_them():
    # the baseline reads the same encoded sentences as the network: an out-of-vocabulary dev
    # word is unk_index in the network's input, and the baseline tags it with table[unk_index]
    for min_count in (1, 2):
        splits = pos_splits(min_count)
        train, dev = splits["train"], splits["dev"]
        model = fit_most_frequent_tag(train.encoded(), len(train.words), len(train.tags))
        vocab = set(train.words)
        oov = [(i, j) for i, (ws, _) in enumerate(dev.sentences) for j, w in enumerate(ws) if w not in vocab]
        assert oov, "the dev split should contain words outside the training vocabulary"
        for i, j in oov:
            words, _ = dev.encoded()[i]
            assert int(words[j]) == dev.unk_index
            assert int(model(words)[j]) == int(model.table[dev.unk_index])
        unk_seen = any((w == train.unk_index).any() for w, _ in train.encoded())
        assert unk_seen == (min_count == 2)
        if not unk_seen:
            assert int(model.table[train.unk_index]) == model.fallback


def test_most_frequent_tag_errors():
    with pytest.raises(ValueError, match="at least one"):
        fit_most_frequent_tag([], 3, 2)
    with pytest.raises(ValueError, match="same shape"):
        fit_most_frequent_tag([(_t([1, 2]), _t([0]))], 3, 2)
    model = fit_most_frequent_tag([(_t([1]), _t([0]))], 3, 2)
    with pytest.raises(ValueError, match="0..2"):
        model(_t([3]))
    with pytest.raises(TypeError, match="int64"):
        model(torch.tensor([1.0]))


def test_tagging_accuracy_counts_and_masks():
    pairs = [(_t([0, 1, 2]), _t([5, 1, 9])), (_t([0]), _t([0]))]
    identity = lambda w: w  # noqa: E731
    assert tagging_accuracy(identity, pairs) == (2, 4)
    assert tagging_accuracy(identity, pairs, only=lambda w: w == 0) == (1, 2)


def test_ngram_is_a_distribution_for_every_history():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 6, (300,), generator=g)
    for n in (1, 2, 3, 5):
        model = CharNGram(ids, n, vocab_size=7)      # id 6 never occurs: it still gets mass
        for history in ([], [1], [2, 3], [6, 6, 6, 6], ids[:4].tolist()):
            probs = [model.prob(history, c) for c in range(7)]
            assert min(probs) > 0 and math.isclose(sum(probs), 1.0, rel_tol=1e-9), (n, history, probs)


def test_ngram_matches_the_witten_bell_formula():
    ids = [0, 1, 0, 1, 0, 2]             # counts: 0 x3, 1 x2, 2 x1; 3 distinct; V = 4
    uni = CharNGram(ids, 1, vocab_size=4)
    assert uni.prob([], 0) == pytest.approx((3 + 3 * 0.25) / (6 + 3))
    assert uni.prob([], 3) == pytest.approx(3 * 0.25 / 9)
    bi = CharNGram(ids, 2, vocab_size=4)
    # after 0: followed by 1 twice and by 2 once (2 distinct, 3 total)
    assert bi.prob([0], 1) == pytest.approx((2 + 2 * uni.prob([], 1)) / (3 + 2))
    assert bi.prob([3], 1) == pytest.approx(uni.prob([], 1))      # unseen history -> lower order
    assert bi.prob([2, 0], 1) == bi.prob([0], 1)                   # only the last n - 1 count


def test_ngram_perplexity_cuts_the_history_at_the_window_start():
    ids = [0, 1, 2, 3] * 20
    model = CharNGram(ids, 3, vocab_size=4)
    x, y = torch.tensor([[0, 1, 2]]), torch.tensor([[1, 2, 3]])
    expected = -(math.log(model.prob([0], 1)) + math.log(model.prob([0, 1], 2))
                 + math.log(model.prob([1, 2], 3))) / 3
    assert model.perplexity(x, y) == pytest.approx(math.exp(expected))
    # a deterministic cycle: with two characters of history the next one is almost certain
    assert model.perplexity(x, y) < CharNGram(ids, 1, vocab_size=4).perplexity(x, y)


def test_ngram_errors():
    with pytest.raises(ValueError, match="n must be"):
        CharNGram([0, 1], 0, 2)
    with pytest.raises(ValueError, match="0..1"):
        CharNGram([0, 2], 2, 2)
    with pytest.raises(ValueError, match="non-empty"):
        CharNGram([], 2, 2)
    with pytest.raises(ValueError, match="windows, steps"):
        flat = torch.zeros(3, dtype=torch.int64)
        CharNGram([0, 1], 2, 2).perplexity(flat, flat)


def test_bigram_hmm_probabilities_are_add_one_relative_frequencies():
    pairs = [(_t([1, 2]), _t([0, 1])), (_t([2, 2, 0]), _t([1, 1, -100]))]   # last position is padding
    hmm = fit_bigram_hmm(pairs, vocab_size=3, n_tags=2)
    assert isinstance(hmm, BigramHMM)
    assert torch.allclose(hmm.log_start.exp(), torch.tensor([2 / 4, 2 / 4], dtype=torch.float64))
    # transitions counted: 0->1 once, 1->1 once; plus one everywhere
    expected_trans = torch.tensor([[1 / 3, 2 / 3], [1 / 3, 2 / 3]], dtype=torch.float64)
    assert torch.allclose(hmm.log_trans.exp(), expected_trans)
    # emissions: tag 0 emits word 1 once; tag 1 emits word 2 three times (padding skipped)
    assert torch.allclose(hmm.log_emit.exp(), torch.tensor([[1 / 4, 2 / 4, 1 / 4], [1 / 6, 1 / 6, 4 / 6]],
                                                           dtype=torch.float64))


def test_bigram_hmm_viterbi_is_the_most_probable_sequence():
    g = torch.Generator().manual_seed(0)
    n_tags, vocab = 3, 4
    def log_probs(*shape):
        return torch.log_softmax(torch.randn(*shape, generator=g, dtype=torch.float64), -1)

    hmm = BigramHMM(log_start=log_probs(n_tags), log_trans=log_probs(n_tags, n_tags),
                    log_emit=log_probs(n_tags, vocab))
    for words in ([2], [0, 3, 1], [1, 1, 2, 0, 3]):
        def joint(tags, words=words):
            return float(hmm.log_start[tags[0]]
                         + sum(hmm.log_trans[a, b] for a, b in zip(tags, tags[1:], strict=False))
                         + sum(hmm.log_emit[t, w] for t, w in zip(tags, words, strict=True)))
        best = max(itertools.product(range(n_tags), repeat=len(words)), key=joint)
        assert hmm(_t(words)).tolist() == list(best)
    assert hmm(torch.tensor([[0, 3, 1], [1, 1, 2]])).shape == (2, 3)


def test_bigram_hmm_uses_the_previous_tag_where_a_lookup_cannot():
    # word 3 ('watch') is NN (2) after DET (0) and V (1) after PRON (4); more often NN in training
    DET, V, NN, PRON = 0, 1, 2, 4
    pairs = [(_t([1, 3, 5]), _t([DET, NN, V])), (_t([1, 3, 6]), _t([DET, NN, V])),
             (_t([1, 3, 5]), _t([DET, NN, V])), (_t([2, 3, 1, 7]), _t([PRON, V, DET, NN]))]
    lookup = fit_most_frequent_tag(pairs, vocab_size=8, n_tags=5)
    hmm = fit_bigram_hmm(pairs, vocab_size=8, n_tags=5)
    sentence, gold = _t([2, 3, 1, 7]), [PRON, V, DET, NN]
    assert lookup(sentence).tolist() == [PRON, NN, DET, NN]
    assert hmm(sentence).tolist() == gold
    # an unknown word (index 0, never seen) after a determiner is tagged by the transition
    assert hmm(_t([1, 0, 5])).tolist() == [DET, NN, V]


def test_bigram_hmm_errors():
    with pytest.raises(ValueError, match="at least one"):
        fit_bigram_hmm([], vocab_size=3, n_tags=2)
    with pytest.raises(ValueError, match="same shape"):
        fit_bigram_hmm([(_t([1, 2]), _t([0]))], vocab_size=3, n_tags=2)
    with pytest.raises(ValueError, match="must lie in"):
        fit_bigram_hmm([(_t([1, 5]), _t([0, 1]))], vocab_size=3, n_tags=2)
    hmm = fit_bigram_hmm([(_t([1, 2]), _t([0, 1]))], vocab_size=3, n_tags=2)
    with pytest.raises(TypeError, match="int64"):
        hmm(torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="0..2"):
        hmm(_t([1, 3]))
    assert hmm(_t([])).tolist() == []
