"""Tests for helpers.data: the digit-sum protocol, windows, normaliser, and the real loaders."""

from __future__ import annotations

import hashlib
import urllib.error
from collections import Counter

import numpy as np
import pytest
import torch

from helpers import data as D
from helpers.config import DATA_DIR


def _require(*relative: str) -> None:
    """Skip the test with a clear reason when a real data file is absent."""
    for rel in relative:
        if not (DATA_DIR / rel).exists():
            pytest.skip(f"{DATA_DIR / rel} is absent (offline data not placed; see data/README.md)")


def _offline(*args, **kwargs):
    raise urllib.error.URLError("no network in this test")


# ----------------------------------------------------------------------------- digit sum

@pytest.mark.parametrize("length,copies", [(3, 1), (6, 4), (12, 2)])
def test_digit_sum_protocol(length, copies):
    x, y = D.digit_sum_dataset(length, copies, seed=3)
    assert x.shape == (100 * copies, length) and y.shape == (100 * copies,)
    assert x.dtype == torch.int64 and y.dtype == torch.int64
    # every (a, b) pair exactly `copies` times
    counts = Counter(map(tuple, x[:, :2].tolist()))
    assert set(counts) == {(a, b) for a in range(10) for b in range(10)}
    assert set(counts.values()) == {copies}
    # row (10 a + b) * copies + c holds copy c of pair (a, b)
    assert x[(10 * 7 + 3) * copies + copies - 1, :2].tolist() == [7, 3]
    # labels are a + b
    assert torch.equal(y, x[:, 0] + x[:, 1])
    # at most one nonzero digit, only at positions >= 2, digits in 0..9
    tail = x[:, 2:]
    assert int((tail != 0).sum(dim=1).max()) <= 1
    assert int(tail.min()) >= 0 and int(tail.max()) <= 9


def test_digit_sum_noise_is_spread_over_positions_and_digits():
    x, _ = D.digit_sum_dataset(6, 50, seed=0)
    tail = x[:, 2:]
    nonzero = tail != 0
    assert set(nonzero.nonzero()[:, 1].tolist()) == {0, 1, 2, 3}   # every noise position used
    assert set(tail[nonzero].tolist()) == set(range(1, 10))          # every nonzero digit drawn
    # about one copy in ten draws the digit 0 and looks noise-free
    clean = int((~nonzero.any(dim=1)).sum())
    assert 0.05 * len(x) < clean < 0.15 * len(x)


def test_digit_sum_seeded():
    a = D.digit_sum_dataset(8, 3, seed=1)
    b = D.digit_sum_dataset(8, 3, seed=1)
    c = D.digit_sum_dataset(8, 3, seed=2)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    # no global randomness: the global torch / numpy state does not change the result
    torch.manual_seed(123)
    np.random.seed(123)
    assert torch.equal(D.digit_sum_dataset(8, 3, seed=1)[0], a[0])


def test_digit_sum_splits_sizes_and_independence():
    splits = D.digit_sum_splits(10)
    assert list(splits) == ["train", "dev", "test"]
    assert [len(splits[k][0]) for k in splits] == [300, 100, 100]
    seeds = D.digit_sum_split_seeds(0)
    assert len(set(seeds.values())) == 3
    for name, (x, y) in splits.items():
        xs, ys = D.digit_sum_dataset(10, len(x) // 100, seeds[name])
        assert torch.equal(x, xs) and torch.equal(y, ys)
    # dev and test are different draws (same pairs, different noise)
    assert not torch.equal(splits["dev"][0], splits["test"][0])
    assert not torch.equal(splits["train"][0][::3], splits["dev"][0])
    # another base seed gives other splits
    assert not torch.equal(D.digit_sum_splits(10, seed=1)["dev"][0], splits["dev"][0])


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(length=2, copies=1, seed=0), "length must be an int >= 3"),
    (dict(length=5.0, copies=1, seed=0), "length must be an int"),
    (dict(length=5, copies=0, seed=0), "copies must be an int >= 1"),
    (dict(length=5, copies=True, seed=0), "copies must be an int"),
    (dict(length=5, copies=1, seed=-1), "seed must be"),
])
def test_digit_sum_errors(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        D.digit_sum_dataset(**kwargs)


def test_digit_sum_splits_errors():
    with pytest.raises(ValueError, match="three ints"):
        D.digit_sum_splits(10, copies=3)
    with pytest.raises(ValueError, match="three ints"):
        D.digit_sum_splits(10, copies=(3, 1))


# ----------------------------------------------------------------------------- sine

def test_sine_windows_line_up():
    t, values = D.sine_series(60, period=20.0)
    x, y = D.sine_windows(7, n_points=60, period=20.0)
    assert x.shape == (53, 7, 1) and y.shape == (53, 1)
    for i in (0, 17, 52):
        assert torch.equal(x[i, :, 0], torch.from_numpy(values[i:i + 7]))
        assert float(y[i, 0]) == values[i + 7]
    assert values[5] == pytest.approx(np.sin(2 * np.pi * 5 / 20.0), abs=1e-6)


def test_sine_noise_seeded_and_split_by_time():
    a = D.sine_windows(4, n_points=50, noise=0.1, seed=1)[0]
    b = D.sine_windows(4, n_points=50, noise=0.1, seed=1)[0]
    c = D.sine_windows(4, n_points=50, noise=0.1, seed=2)[0]
    assert torch.equal(a, b) and not torch.equal(a, c)
    x, y = D.sine_windows(4, n_points=50)
    (x_tr, y_tr), (x_ho, y_ho) = D.split_by_time(x, y, n_train=30)
    assert len(x_tr) == 30 and len(x_ho) == 16
    assert torch.equal(x_ho[0], x[30]) and torch.equal(y_tr[-1], y[29])   # held out = later in time
    with pytest.raises(ValueError, match="n_train"):
        D.split_by_time(x, y, n_train=len(x))


# ----------------------------------------------------------------------------- flights

def test_flights_series_real():
    _require("flights.csv")
    series = D.flights_series()
    assert series.shape == (144,)
    assert series[0] == 112 and series[-1] == 432          # 1949-01 and 1960-12
    assert D.flights_months()[0] == "1949-01" and D.flights_months()[-1] == "1960-12"


def test_flights_windows_fit_on_training_months_only():
    _require("flights.csv")
    fw = D.flights_windows(window=12, n_train=132)
    series = fw.series
    assert fw.normalizer.mean == pytest.approx(float(series[:132].mean()))
    assert fw.normalizer.std == pytest.approx(float(series[:132].std()))
    assert fw.normalizer.mean != pytest.approx(float(series.mean()))     # test months would change it
    assert fw.normalizer.n_fitted == 132
    assert fw.x_train.shape == (120, 12, 1) and fw.y_train.shape == (120, 1)
    assert fw.x_test.shape == (12, 12, 1) and fw.y_test.shape == (12, 1) and fw.context.shape == (12, 1)
    raw = lambda t: fw.normalizer.inverse_transform(t.double()).squeeze(-1).numpy()  # noqa: E731
    # window i feeds months i..i+11 and predicts month i+12; the last training target is month 131
    assert np.allclose(raw(fw.x_train[0]), series[0:12], atol=1e-3)
    assert np.allclose(raw(fw.y_train[-1]), series[131], atol=1e-3)
    assert np.allclose(raw(fw.context), series[120:132], atol=1e-3)
    assert np.allclose(raw(fw.x_test[3]), series[123:135], atol=1e-3)
    assert np.allclose(raw(fw.y_test), series[132:], atol=1e-3)
    assert np.array_equal(fw.test_values, series[132:]) and fw.test_months[0] == "1960-01"
    # the fitted normaliser refuses a refit on the whole series
    with pytest.raises(RuntimeError, match="already fitted"):
        fw.normalizer.fit(series)


def test_flights_windows_normaliser_fit_on_training_months_only_made_up_series(tmp_path, monkeypatch):
    """Runs without data/flights.csv: a made-up 144-month table in the seaborn format."""
    import seaborn.utils

    monkeypatch.setattr(seaborn.utils, "urlopen", _offline)        # never reach the network
    monkeypatch.setattr(seaborn.utils, "urlretrieve", _offline)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    values = 100 + np.arange(144) + 1000 * (np.arange(144) >= 130)  # the last 14 months jump up
    rows = [f"{1949 + i // 12},{months[i % 12]},{int(v)}" for i, v in enumerate(values)]
    (tmp_path / "flights.csv").write_text("year,month,passengers\n" + "\n".join(rows) + "\n")
    fw = D.flights_windows(window=6, n_train=130, root=tmp_path)
    assert np.array_equal(fw.series, values.astype(np.float32))
    assert fw.normalizer.n_fitted == 130
    assert fw.normalizer.mean == pytest.approx(values[:130].mean())        # 164.5, not the full mean
    assert fw.normalizer.std == pytest.approx(values[:130].std())
    assert fw.normalizer.mean != pytest.approx(values.mean())
    assert fw.x_train.shape == (124, 6, 1) and fw.y_train.shape == (124, 1)
    raw = lambda t: fw.normalizer.inverse_transform(t.double()).squeeze(-1).numpy()  # noqa: E731
    assert np.allclose(raw(fw.y_train[-1]), values[129], atol=1e-3)       # last target: last training month
    assert float(raw(fw.x_train).max()) < 1000 and float(raw(fw.y_train).max()) < 1000  # no test month
    assert np.allclose(raw(fw.context), values[124:130], atol=1e-3)
    assert np.array_equal(fw.test_values, values[130:].astype(np.float32))
    with pytest.raises(RuntimeError, match="already fitted"):
        fw.normalizer.fit(fw.series)


def test_normalizer():
    norm = D.Normalizer()
    with pytest.raises(RuntimeError, match="before fit"):
        norm.transform(np.ones(3))
    values = np.array([1.0, 2.0, 3.0, 6.0])
    norm.fit(values)
    z = norm.transform(values)
    assert z.mean() == pytest.approx(0.0) and z.std() == pytest.approx(1.0)
    assert np.allclose(norm.inverse_transform(z), values)
    t = norm.transform(torch.tensor(values))
    assert isinstance(t, torch.Tensor) and torch.allclose(t, torch.from_numpy(z))
    with pytest.raises(ValueError, match="1-D"):
        D.Normalizer().fit(np.ones((2, 2)))


def test_flights_missing_offline(tmp_path, monkeypatch):
    import seaborn.utils

    monkeypatch.setattr(seaborn.utils, "urlopen", _offline)
    monkeypatch.setattr(seaborn.utils, "urlretrieve", _offline)
    with pytest.raises(D.MissingDataError) as info:
        D.flights_series(root=tmp_path)
    message = str(info.value)
    assert "flights.csv" in message and str(tmp_path) in message and "seaborn-data" in message
    assert isinstance(info.value, FileNotFoundError)


# ----------------------------------------------------------------------------- checked downloads

SHA1_HELLO = hashlib.sha1(b"hello\n").hexdigest()


def test_fetch_checked_missing_offline(tmp_path, monkeypatch):
    def refuse(url, dest):
        raise ConnectionError("offline")

    monkeypatch.setattr(D, "_download_to", refuse)
    with pytest.raises(D.MissingDataError) as info:
        D.fetch_checked("http://example.invalid/hello.txt", "hello.txt", SHA1_HELLO, root=tmp_path)
    message = str(info.value)
    for part in ("hello.txt", str(tmp_path), "http://example.invalid/hello.txt", SHA1_HELLO, "README"):
        assert part in message


def test_fetch_checked_rejects_a_wrong_download(tmp_path, monkeypatch):
    monkeypatch.setattr(D, "_download_to", lambda url, dest: dest.write_bytes(b"<html>captive portal</html>"))
    with pytest.raises(D.DataChecksumError, match="expected " + SHA1_HELLO):
        D.fetch_checked("http://example.invalid/hello.txt", "hello.txt", SHA1_HELLO, root=tmp_path)
    assert list(tmp_path.iterdir()) == []      # nothing saved under the real name (nor a .part)
    monkeypatch.setattr(D, "_download_to", lambda url, dest: dest.write_bytes(b"hello\n"))
    path = D.fetch_checked("http://example.invalid/hello.txt", "hello.txt", SHA1_HELLO, root=tmp_path)
    assert path == tmp_path / "hello.txt" and path.read_bytes() == b"hello\n"


def test_time_machine_bad_file_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "timemachine.txt").write_text("<html>not the book</html>")
    monkeypatch.setattr(D, "_download_to", _offline)
    with pytest.raises(D.DataChecksumError, match=D.TIME_MACHINE_SHA1):
        D.fetch_checked(D.TIME_MACHINE_URL, "timemachine.txt", D.TIME_MACHINE_SHA1, root=tmp_path)


def test_time_machine_real_and_offline(tmp_path, monkeypatch):
    _require("timemachine.txt")
    import d2l.torch as d2l

    tm = D.time_machine(batch_size=4, num_steps=5, num_train=100, num_val=50)
    assert isinstance(tm, d2l.TimeMachine) and tm.root == str(DATA_DIR)
    # d2l's own preprocessing and vocabulary on the same text
    text = (DATA_DIR / "timemachine.txt").read_text()
    corpus, vocab = d2l.TimeMachine.build(tm, text)
    assert tm.vocab.idx_to_token == vocab.idx_to_token and len(vocab) == 28
    assert tm.X[0].tolist() == corpus[:5] and tm.Y[0].tolist() == corpus[1:6]
    x, y = next(iter(tm.val_dataloader()))
    assert x.shape == (4, 5) and y.shape == (4, 5)
    # the same subclass with an empty root and no network
    monkeypatch.setattr(D, "_download_to", _offline)
    with pytest.raises(D.MissingDataError, match="timemachine.txt"):
        D.time_machine(4, 5, root=tmp_path)


# ----------------------------------------------------------------------------- MNIST

def test_mnist_real():
    _require(*(f"MNIST/raw/{name}" for name in D.MNIST_RAW_FILES))
    test = D.mnist(train=False)
    image, label = test[0]
    assert image.shape == (28, 28) and image.dtype == torch.float32
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0 and float(image.max()) > 0.5
    assert isinstance(label, int) and 0 <= label <= 9
    name = D.mnist_split_name()
    assert f"{len(test):,} test" in name
    assert name.startswith("full MNIST") == (len(test) == 10_000)
    train_loader, test_loader = D.mnist_loaders(16, seed=0, limit=(64, 32))
    first = next(iter(train_loader))[1]
    again = next(iter(D.mnist_loaders(16, seed=0, limit=(64, 32))[0]))[1]
    assert torch.equal(first, again) and len(test_loader.dataset) == 32
    xb, yb = next(iter(test_loader))
    assert xb.shape == (16, 28, 28) and yb.dtype == torch.int64


def test_mnist_missing_offline(tmp_path, monkeypatch):
    import torchvision

    def fail(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", fail)
    with pytest.raises(D.MissingDataError) as info:
        D.mnist(train=True, root=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "MNIST" / "raw") in message and "data/MNIST/raw/" in message
    for name in D.MNIST_RAW_FILES:
        assert name in message


# ----------------------------------------------------------------------------- part of speech

def test_pos_corpus():
    corpus = D.pos_corpus()
    assert 6 <= len(corpus.sentences) <= 10
    assert corpus.words[0] == "<unk>" and corpus.unk_index == 0
    assert {"DET", "NN", "V", "ADJ"} <= set(corpus.tags)
    for words, tags in corpus.sentences:
        assert len(words) == len(tags)
    ids = corpus.encode_words(["the", "zebra", "Sleeps"])
    assert ids.dtype == torch.int64 and ids[1] == 0 and ids[0] != 0 and ids[2] != 0
    words, tags = corpus.sentences[0]
    assert corpus.decode_tags(corpus.encode_tags(tags)) == list(tags)
    with pytest.raises(ValueError, match="unknown tags"):
        corpus.encode_tags(["XYZ"])


def test_pos_splits_sizes_vocabulary_and_checksum(monkeypatch):
    splits = D.pos_splits()
    assert {k: len(v.sentences) for k, v in splits.items()} == D.POS_SPLIT_SIZES
    train = splits["train"]
    train_words = {w for ws, _ in train.sentences for w in ws}
    assert set(train.words) == {"<unk>"} | train_words                 # vocabulary from train only
    assert all(s.words == train.words and s.tags == train.tags for s in splits.values())
    assert train.tags == ("ADJ", "ADP", "ADV", "DET", "NN", "PRON", "V")
    for part in splits.values():
        for words, tags in part.sentences:
            assert len(words) == len(tags) >= 3
    # some dev/test words are unknown, and they encode to <unk>
    for name in ("dev", "test"):
        unknown = [w for ws, _ in splits[name].sentences for w in ws if w not in train_words]
        assert unknown and all(int(splits[name].encode_words([w])[0]) == 0 for w in unknown)
    # min_count=2: training singletons leave the vocabulary
    counts = Counter(w for ws, _ in train.sentences for w in ws)
    rare = D.pos_splits(min_count=2)["train"]
    assert set(rare.words) == {"<unk>"} | {w for w, c in counts.items() if c >= 2} != set(train.words)
    # the same corpus every time; a changed generator is an error, not a silent new corpus
    assert D.pos_splits()["test"].sentences == splits["test"].sentences
    monkeypatch.setattr(D, "POS_SPLITS_SHA1", "0" * 40)
    with pytest.raises(D.DataChecksumError, match="POS_SPLITS_SHA1"):
        D.pos_splits()


@pytest.mark.parametrize("bad", [0, 1.5, True])
def test_pos_splits_errors(bad):
    with pytest.raises(ValueError, match="min_count"):
        D.pos_splits(bad)


def test_pad_tagged_pads_words_and_ignores_tags():
    batch = [(torch.tensor([3, 4, 5]), torch.tensor([0, 1, 2])), (torch.tensor([7]), torch.tensor([3]))]
    words, tags = D.pad_tagged(batch)
    assert words.tolist() == [[3, 4, 5], [7, 0, 0]]
    assert tags.tolist() == [[0, 1, 2], [3, -100, -100]]
    assert (tags != -100).sum(1).tolist() == [3, 1]
    with pytest.raises(ValueError, match="empty"):
        D.pad_tagged([])
