"""The Python package against the command line, on the repository's data/sample.

The command line is the binary `cargo build --release` leaves in target/release (or
$STARSKOPE_BIN): the package's checkpoints and probabilities must be the ones it writes.
"""

import csv
import os
import pickle
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score

import starskope

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
CLI = Path(os.environ.get("STARSKOPE_BIN", REPO / "target" / "release" / "starskope"))


def cli(*args):
    assert CLI.exists(), f"{CLI} is missing: run `cargo build --release` first, or set STARSKOPE_BIN"
    done = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def train():
    return starskope.read_csv(SAMPLE / "exoTrain.csv")


@pytest.fixture(scope="module")
def test():
    return starskope.read_csv(SAMPLE / "exoTest.csv")


@pytest.fixture(scope="module")
def fitted(train):
    X, y = train
    return starskope.Classifier(epochs=2, device="cpu", seed=42).fit(X, y)


def test_read_csv_gives_the_exotrain_arrays(train, test):
    X, y = train
    assert X.shape == (240, 3197) and X.dtype == np.float32 and X.flags.c_contiguous
    assert y.dtype == np.int64 and sorted(set(y.tolist())) == [1, 2] and (y == 2).sum() == 12
    assert test[0].shape == (80, 3197)


def test_fit_two_epochs_on_the_cpu_then_probabilities(fitted, test):
    proba = fitted.predict_proba(test[0])
    assert proba.shape == (80, 2) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert fitted.classes_.tolist() == [1, 2]
    assert [h["epoch"] for h in fitted.history_] == [1, 2]
    assert set(fitted.history_[0]) >= {"train_loss", "train_accuracy", "val_loss", "seconds"}
    assert set(fitted.predict(test[0]).tolist()) <= {1, 2}
    assert 0.0 <= fitted.score(*test) <= 1.0


def test_save_load_and_pickle_give_identical_probabilities(fitted, test, tmp_path):
    proba = fitted.predict_proba(test[0])
    path = tmp_path / "model.safetensors"
    fitted.save(path)
    assert np.array_equal(starskope.load(path).predict_proba(test[0]), proba)
    again = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(again.predict_proba(test[0]), proba)
    assert again.history_ == fitted.history_ and again.get_params() == fitted.get_params()


def test_probabilities_equal_starskope_predict_on_the_same_checkpoint(fitted, test, tmp_path):
    model, out = tmp_path / "model.safetensors", tmp_path / "scores.csv"
    fitted.save(model)
    cli("predict", "--model", model, "--data", SAMPLE / "exoTest.csv", "--out", out, "--device", "cpu")
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["index", "label", "p_1", "p_2", "predicted"]
    proba = starskope.load(model, device="cpu").predict_proba(test[0])
    # predict writes each float32 with 6 decimals: the same numbers give the same text
    assert [r[2:4] for r in rows[1:]] == [[f"{p:.6f}" for p in row] for row in proba]
    assert [int(r[4]) for r in rows[1:]] == fitted.predict(test[0]).tolist()


def test_fit_trains_the_model_starskope_train_trains(fitted, test, tmp_path):
    cli("train", "--train", SAMPLE / "exoTrain.csv", "--epochs", 2, "--seed", 42, "--device", "cpu",
        "--out", tmp_path)
    from_cli = starskope.load(tmp_path / "model.safetensors", device="cpu")
    assert np.array_equal(from_cli.predict_proba(test[0]), fitted.predict_proba(test[0]))


def test_clone_is_an_unfitted_copy_with_the_same_parameters(fitted, train):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "classes_")
    with pytest.raises(starskope.NotFittedError):
        copy.predict(train[0])
    clf = starskope.Classifier(epochs=1, device="cpu", batch=16)
    scores = cross_val_score(clf, *train, cv=2)
    assert scores.shape == (2,)


def test_any_dtype_layout_and_label_kind(fitted, train, test):
    X = test[0]
    proba = fitted.predict_proba(X)
    strided = np.repeat(X, 2, axis=1)[:, ::2]
    assert not strided.flags.c_contiguous
    for same in (X.astype(np.float64), strided, X[:, None, :], np.asfortranarray(X)):
        assert np.array_equal(fitted.predict_proba(same), proba)
    X_train, y_train = train
    names = np.where(y_train == 2, "planet", "star")
    clf = starskope.Classifier(epochs=1, device="cpu").fit(X_train.astype(np.float64), names)
    assert clf.classes_.tolist() == ["planet", "star"]
    assert set(clf.predict(X).tolist()) <= {"planet", "star"}


def test_string_labels_reach_the_checkpoint(train, test, tmp_path):
    X, y = train
    clf = starskope.Classifier(epochs=1, device="cpu").fit(X, np.where(y == 2, "planet", "star"))
    clf.save(tmp_path / "m.safetensors")
    out = tmp_path / "p.csv"
    cli("predict", "--model", tmp_path / "m.safetensors", "--data", SAMPLE / "exoTest.csv", "--out", out,
        "--device", "cpu")
    assert out.read_text().splitlines()[0] == "index,label,p_planet,p_star,predicted"


def test_bad_arrays_raise_value_error_with_the_engines_message(train):
    X, y = train
    clf = starskope.Classifier(epochs=1, device="cpu")
    bad = X.copy()
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match=r"X: row 3, sample 5 is NaN: every sample must be a finite number"):
        clf.fit(bad, y)
    with pytest.raises(ValueError, match="every row has label 1, but training needs at least 2 classes"):
        clf.fit(X[y == 1], y[y == 1])
    with pytest.raises(ValueError, match="dimension"):
        clf.fit(X[0], y[:1])
    with pytest.raises(ValueError, match="channels per light curve"):
        clf.fit(np.stack([X, X], axis=1), y)
    with pytest.raises(ValueError, match="has 239 labels"):
        clf.fit(X, y[1:])
    with pytest.raises(ValueError, match="--epochs must be at least 1"):
        starskope.Classifier(epochs=0, device="cpu").fit(X, y)
    with pytest.raises(ValueError, match="device must be one of auto, gpu, cpu"):
        starskope.Classifier(device="tpu").fit(X, y)
    with pytest.raises(ValueError, match="unknown model|no such|cannot"):
        starskope.Classifier(model="no-such-model", device="cpu").fit(X, y)


def test_prediction_and_file_errors(fitted, tmp_path):
    with pytest.raises(ValueError, match="the series have 100 samples, but the model in .* was trained on 3197"):
        fitted.predict_proba(np.zeros((2, 100), np.float32))
    with pytest.raises(FileNotFoundError, match="no such file"):
        starskope.read_csv(tmp_path / "missing.csv")
    with pytest.raises(FileNotFoundError):
        starskope.load(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="is not a usable Starskøpe checkpoint"):
        starskope.load(junk)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("1,0.5,0.25\n2,0.5\n")
    with pytest.raises(ValueError, match="line 2: the row has 2 columns"):
        starskope.read_csv(ragged)


def test_training_releases_the_gil_and_ctrl_c_keeps_the_finished_epochs(train):
    X, y = train
    ticks, done = [0], threading.Event()

    def count():
        while not done.is_set():
            ticks[0] += 1
            time.sleep(0.001)

    def interrupt_during_epoch_two(record):
        if record["epoch"] == 1:
            threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()

    counter = threading.Thread(target=count)
    counter.start()
    clf = starskope.Classifier(epochs=20, device="cpu", callback=interrupt_during_epoch_two)
    try:
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, y)
    finally:
        done.set()
        counter.join()
    assert ticks[0] > 50, "the counting thread never ran: fit held the GIL"
    assert [h["epoch"] for h in clf.history_] == [1]
    assert clf.predict_proba(X[:3]).shape == (3, 2)
