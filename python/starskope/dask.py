"""Scoring many files on a dask.distributed cluster (``pip install distributed``).

    >>> from dask.distributed import Client
    >>> import starskope.dask
    >>> client = Client("scheduler:8786")
    >>> texts = starskope.dask.predict(client, "model.safetensors", sorted(glob.glob("sector*/*.csv")))

The checkpoint is read once, on the client, and shipped to the workers with the tasks;
each worker scores its files as ``starskope predict`` does. Dask itself is imported by the
caller's client only: this module needs nothing beyond the client it is given.
"""

import os

from . import _native


def predict(client, model_path, paths, partition_size=16, device="cpu"):
    """Scores each CSV file of ``paths`` with the checkpoint at ``model_path`` on the
    workers of ``client`` (a ``dask.distributed.Client``), ``partition_size`` files per
    task.

    Returns a list with one string per path, in the order of ``paths``: the file
    ``starskope predict --model MODEL --data PATH`` writes, byte for byte. The paths must
    be readable by the workers (a shared file system). Errors are raised as
    ``starskope.load`` and ``Classifier.predict_proba`` raise them, from the first failing
    task.
    """
    if partition_size < 1:
        raise ValueError(f"partition_size must be at least 1, got {partition_size}")
    model_path = os.fspath(model_path)
    checkpoint = _native.read_checkpoint(model_path)
    paths = [os.fspath(p) for p in paths]
    parts = [paths[i : i + partition_size] for i in range(0, len(paths), partition_size)]
    # scattered once, so the checkpoint is not sent again with every task
    shipped = client.scatter(checkpoint, broadcast=True)
    futures = [client.submit(_score_files, shipped, model_path, part, device, pure=False) for part in parts]
    return [text for part in client.gather(futures) for text in part]


def _score_files(checkpoint, model_path, paths, device):
    return [_native.predict_csv(checkpoint, model_path, path, device) for path in paths]
