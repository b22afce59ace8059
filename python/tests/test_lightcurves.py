"""starskope.read_lightcurves reads what `starskope inspect` and `predict --data` read: real
Kepler FITS files beside the repository (../shared/realdata, in place) and text tables
written here."""

import numpy as np
import pytest

import starskope

from test_classifier import REPO, cli

REALDATA = REPO.parent / "shared" / "realdata"


def inspected(path):
    """`starskope inspect`'s lines: target -> (files, points)."""
    rows = {}
    for line in cli("inspect", "--data", path).stdout.splitlines():
        cells = line.split("\t")
        points = next(c for c in cells if c.endswith(" points"))
        rows[cells[0]] = (cells[-1].removeprefix("files: ").split(";"), int(points.split()[0]))
    return rows


def test_kepler_quarters_are_stitched_per_target_as_the_cli_reads_them():
    kepler = REALDATA / "kepler"
    curves = starskope.read_lightcurves(kepler)
    assert [c.target for c in curves] == list(inspected(kepler))
    by_target = {c.target: c for c in curves}
    k90 = by_target["KIC 11442793"]
    assert k90.mission == "Kepler"
    assert k90.files == [
        "kplr011442793-2009350155506_llc.fits",
        "kplr011442793-2010009091648_llc.fits",
        "kplr011442793-2010174085026_llc.fits",
    ]
    for c in curves:
        files, points = inspected(kepler)[c.target]
        assert c.files == files and len(c.time) == len(c.flux) == points, c.target
        assert c.time.dtype == np.float64 and np.all(np.diff(c.time) > 0), c.target
        assert np.all(np.isfinite(c.flux)) and abs(np.median(c.flux) - 1) < 0.01, c.target
        assert c.flux_err is not None and c.flux_err.shape == c.flux.shape and np.all(c.flux_err > 0), c.target
    # Kepler-90 spans quarters 3 to 5 (BKJD); SAP flux is a different column, read as asked.
    assert 250 < k90.time[-1] - k90.time[0] < 300
    sap = {c.target: c for c in starskope.read_lightcurves(kepler, flux="sap")}["KIC 11442793"]
    assert not np.array_equal(sap.flux, k90.flux)
    target, time, flux, flux_err, files, mission = k90
    assert target == "KIC 11442793" and time is k90.time and mission == "Kepler"


def test_text_tables_are_normalized_and_stitched_by_mast_names(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    # Two campaigns of one star in two directories: one target, stitched.
    (tmp_path / "b" / "ktwo201000042-c02_llc.csv").write_text("time,flux,flux_err\n10,4,0.4\n11,2,0.2\n12,6,0.6\n")
    (tmp_path / "a" / "ktwo201000042-c01_llc.csv").write_text("# time flux flux_err\n1 10 1\n2 nan 1\n3 30 1\n4 20 2\n")
    (tmp_path / "a" / "star.dat").write_text("5.0,100.0\n6.0,300.0\n7.0,200.0\n")
    curves = starskope.read_lightcurves(tmp_path)
    assert [c.target for c in curves] == ["EPIC 201000042", "star"]
    epic, star = curves
    assert epic.files == ["ktwo201000042-c01_llc.csv", "ktwo201000042-c02_llc.csv"]
    # Each file divided by its own median (20, then 4); the NaN row is dropped.
    np.testing.assert_array_equal(epic.time, [1, 3, 4, 10, 11, 12])
    np.testing.assert_allclose(epic.flux, [0.5, 1.5, 1.0, 1.0, 0.5, 1.5], rtol=1e-12)
    np.testing.assert_allclose(epic.flux_err, [0.05, 0.05, 0.1, 0.1, 0.05, 0.15], rtol=1e-12)
    np.testing.assert_allclose(star.flux, [0.5, 1.5, 1.0], rtol=1e-12)
    assert star.flux_err is None and star.mission is None
    # A glob picks files as the CLI's --data does.
    assert [c.target for c in starskope.read_lightcurves(str(tmp_path / "a" / "*.dat"))] == ["star"]
    assert [c.target for c in starskope.read_lightcurves(tmp_path)] == list(inspected(tmp_path))


def test_bad_paths_files_and_options_raise_with_the_clis_message(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        starskope.read_lightcurves(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no light-curve file"):
        starskope.read_lightcurves(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("time,flux\n1,1\n2,oops\n")
    with pytest.raises(ValueError, match=r"bad\.csv.*line 3"):
        starskope.read_lightcurves(bad)
    with pytest.raises(ValueError, match="flux must be one of"):
        starskope.read_lightcurves(REALDATA / "kepler", flux="raw")
    with pytest.raises(ValueError, match="not a quality mask"):
        starskope.read_lightcurves(REALDATA / "kepler", quality="some")
