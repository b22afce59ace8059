"""starskope.dask.predict on a LocalCluster of 2 worker processes gives, file by file, the
bytes `starskope predict` writes."""

import pytest
from dask.distributed import Client, LocalCluster

import starskope
import starskope.dask

from test_classifier import SAMPLE, cli


def test_dask_on_two_local_workers_gives_the_files_starskope_predict_writes(tmp_path):
    X, y = starskope.read_csv(SAMPLE / "exoTrain.csv")
    model = tmp_path / "model.safetensors"
    starskope.Classifier(epochs=1, device="cpu").fit(X, y).save(model)
    header, *rows = (SAMPLE / "exoTest.csv").read_text().splitlines(keepends=True)
    paths = []
    for k in range(5):
        path = tmp_path / f"part{k}.csv"
        path.write_text(header + "".join(rows[k * 16 : (k + 1) * 16]))
        paths.append(path)
    expected = []
    for path in paths:
        out = tmp_path / f"{path.stem}.scores.csv"
        cli("predict", "--model", model, "--data", path, "--out", out, "--device", "cpu")
        expected.append(out.read_text())
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            got = starskope.dask.predict(client, model, paths, partition_size=2)
            assert len(client.scheduler_info()["workers"]) == 2
    assert got == expected
    with pytest.raises(ValueError, match="partition_size"):
        starskope.dask.predict(None, model, paths, partition_size=0)
