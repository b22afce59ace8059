"""The scikit-learn-style estimator over the engine, and checkpoints in and out."""

import json
import os
import sys

import numpy as np

from . import _native
from ._data import label_array, labels_list, series

# History columns, as history.csv names them: the epoch dict always has every key.
_HISTORY_KEYS = (
    "epoch",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "seconds",
    "input_wait_seconds",
    "samples_per_second",
)


class Classifier:
    """A light-curve classifier trained by the Starskøpe engine, with the scikit-learn
    estimator interface (``fit``, ``predict_proba``, ``predict``, ``score``,
    ``get_params``/``set_params``), so ``sklearn.base.clone`` and ``cross_val_score`` take
    it; scikit-learn itself is not needed.

    Parameters (``None`` takes the model's default, as the command line does)
    ----------
    model : str
        A preset (``"seed-cnn"``, ``"seed-lstm"``, ``"fcn"``) or the path of a JSON model file.
    epochs, batch : int or None
    lr : float or None
        Adam's learning rate.
    seed : int
        Fixes the run: initial values, batches, augmentation.
    device : {"auto", "gpu", "cpu"}
        ``auto`` takes a hardware GPU when there is one, else the CPU backend.
    precision : {"f32", "f16"}
        GPU storage precision (f16 needs ``device="gpu"`` and an adapter with SHADER_F16).
    smooth : int or None
        Window of the moving-average channel; 0 drops the channel.
    members : int or None
        Networks trained side by side from different initial values, probabilities averaged.
    class_weights : bool
        Weigh the loss by inverse class frequency.
    patience : int or None
        Stop after this many epochs without a better selection loss.
    sampling : {"balanced", "shuffled"} or None
        Batches with an equal share of each class, or plain shuffled batches (None:
        shuffled).
    roll : bool or None
        Roll each series by a random offset (augmentation; None: off).
    callback : callable or None
        ``callback(record)`` after every epoch with the epoch's dict (as ``history_`` holds).
    verbose : bool
        Print one line per epoch to ``sys.stderr`` (a notebook shows it under the cell).

    Attributes after ``fit`` (or ``load``)
    ----------------------------------------
    classes_ : numpy.ndarray
        The class labels, ascending (integers before names); column k of ``predict_proba``
        is ``classes_[k]``.
    history_ : list of dict
        One dict per finished epoch, the columns of the command line's history.csv.
    n_features_in_ : int
        Samples per light curve.

    Training releases the GIL. Ctrl-C (KeyboardInterrupt) stops after the current step:
    the classifier keeps the epochs that finished (the best of them is the model) and the
    KeyboardInterrupt is raised again. Errors are ValueError (data and options), OSError
    (files) or RuntimeError (the device), with the command line's messages.
    """

    def __init__(
        self,
        model="seed-cnn",
        epochs=None,
        batch=None,
        lr=None,
        seed=42,
        device="auto",
        precision="f32",
        smooth=None,
        members=None,
        class_weights=False,
        patience=None,
        sampling=None,
        roll=None,
        callback=None,
        verbose=False,
    ):
        self.model = model
        self.epochs = epochs
        self.batch = batch
        self.lr = lr
        self.seed = seed
        self.device = device
        self.precision = precision
        self.smooth = smooth
        self.members = members
        self.class_weights = class_weights
        self.patience = patience
        self.sampling = sampling
        self.roll = roll
        self.callback = callback
        self.verbose = verbose

    # -- scikit-learn's estimator protocol -------------------------------------------------

    @classmethod
    def _get_param_names(cls):
        return [
            "model",
            "epochs",
            "batch",
            "lr",
            "seed",
            "device",
            "precision",
            "smooth",
            "members",
            "class_weights",
            "patience",
            "sampling",
            "roll",
            "callback",
            "verbose",
        ]

    def get_params(self, deep=True):
        """The constructor's parameters, as a dict (``deep`` is accepted for scikit-learn)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Sets constructor parameters; an unknown name is a ValueError. Returns self."""
        for name, value in params.items():
            if name not in self._get_param_names():
                raise ValueError(f"Classifier has no parameter {name!r}; it has {', '.join(self._get_param_names())}")
            setattr(self, name, value)
        return self

    # scikit-learn before 1.6 reads the kind of estimator here, later versions from the tags
    _estimator_type = "classifier"

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True), classifier_tags=ClassifierTags())

    def __repr__(self):
        changed = [
            f"{k}={v!r}" for k, v in self.get_params().items() if v != type(self)().get_params()[k]
        ]
        return f"Classifier({', '.join(changed)})"

    # -- training ------------------------------------------------------------------------

    def fit(self, X, y, X_val=None, y_val=None):
        """Trains on light curves ``X`` ((N, L) or (N, 1, L), float32 or float64) with labels
        ``y`` (integers or names). With ``X_val``/``y_val``, the kept model is the epoch of
        least validation loss, else of least training loss. Returns self."""
        for fitted in ("_checkpoint", "_name", "classes_", "n_features_in_", "card_", "history_"):
            self.__dict__.pop(fitted, None)
        x = series(X, "X")
        labels = labels_list(y, x.shape[0], "y")
        if (X_val is None) != (y_val is None):
            raise ValueError("give both X_val and y_val, or neither")
        x_val = labels_val = None
        if X_val is not None:
            x_val = series(X_val, "X_val")
            labels_val = labels_list(y_val, x_val.shape[0], "y_val")
        # the engine's recipe: every parameter but the Python-side ones
        params = {k: v for k, v in self.get_params().items() if k not in ("callback", "verbose")}
        params["model"] = os.fspath(params["model"])
        checkpoint, history, stopped = _native.fit(x, labels, x_val, labels_val, params, self._on_epoch)
        if checkpoint is not None:
            self._set_checkpoint(checkpoint, "the fitted classifier")
            self.history_ = [_epoch_dict(line) for line in history]
        if stopped is not None:
            raise stopped
        return self

    def _on_epoch(self, record_json, line, improved):
        if self.verbose:
            print(line, file=sys.stderr, flush=True)
        if self.callback is not None:
            self.callback(_epoch_dict(record_json))

    # -- prediction ----------------------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities, shape (N, len(classes_)), float32: rows sum to 1. Computed
        as ``starskope predict`` computes them from the same checkpoint, bit for bit."""
        self._check_fitted()
        x = series(X, "X")
        return _native.predict_proba(self._checkpoint, x, self.device, self.precision, self._name)

    def predict(self, X):
        """The most probable class label of each light curve."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y):
        """Mean accuracy of ``predict(X)`` against ``y``."""
        predicted = self.predict(X)
        truth = label_array(labels_list(y, len(predicted), "y"))
        return float(np.mean(predicted == truth))

    # -- checkpoints ---------------------------------------------------------------------

    def save(self, path):
        """Writes the model as the safetensors checkpoint ``starskope train`` writes
        (model.safetensors), atomically: ``starskope predict --model PATH`` reads it."""
        self._check_fitted()
        _native.write_checkpoint(os.fspath(path), self._checkpoint)

    def _set_checkpoint(self, checkpoint, name):
        classes, length, card = _native.describe(checkpoint, name)
        self._checkpoint = bytes(checkpoint)
        self._name = name
        self.classes_ = label_array(classes)
        self.n_features_in_ = length
        self.card_ = json.loads(card)

    def _check_fitted(self):
        if not hasattr(self, "_checkpoint"):
            raise _not_fitted()

    def __getstate__(self):
        state = self.__dict__.copy()
        # the checkpoint's bytes carry the model; the callback may not pickle (a lambda)
        state["callback"] = None
        state.pop("card_", None)
        state.pop("classes_", None)
        state.pop("n_features_in_", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "_checkpoint" in state:
            self._set_checkpoint(state["_checkpoint"], state["_name"])


def load(path, device="auto", precision="f32"):
    """A fitted Classifier from a checkpoint written by ``starskope train``
    (model.safetensors or checkpoint.safetensors) or by ``Classifier.save``."""
    path = os.fspath(path)
    checkpoint = _native.read_checkpoint(path)
    clf = Classifier(device=device, precision=precision)
    clf._set_checkpoint(checkpoint, path)
    clf.model = clf.card_["spec"]["name"]
    return clf


def _epoch_dict(record_json):
    record = json.loads(record_json)
    return {key: record.get(key) for key in _HISTORY_KEYS}


class NotFittedError(ValueError, AttributeError):
    """The classifier has no model yet (scikit-learn's NotFittedError is the same pair)."""


def _not_fitted():
    return NotFittedError("this Classifier is not fitted yet: call fit(X, y) first, or starskope.load(path)")
