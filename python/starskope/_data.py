"""Arrays in: the CSV layout the command line reads, and the checks arrays get before the engine."""

from typing import NamedTuple, Optional

import numpy as np

from . import _native


class LightCurve(NamedTuple):
    """One target's light curve, stitched from its files as ``starskope predict`` reads it.

    Unpacks as ``target, time, flux, flux_err, files, mission``.
    """

    target: str
    """The mission's identifier ("KIC 11442793", "EPIC 201367065", "TIC 261136679"), or the
    file name's stem for a file that names no target."""
    time: np.ndarray
    """Days, float64, strictly ascending, in the files' own time system (BJD, BKJD or BTJD;
    never shifted)."""
    flux: np.ndarray
    """Relative flux, float64: each file divided by its own median, so about 1."""
    flux_err: Optional[np.ndarray]
    """The flux's 1-sigma errors on the same scale, or None when a file has none."""
    files: list
    """The file names stitched, in time order."""
    mission: Optional[str]
    """"Kepler", "K2" or "TESS" when the files say so, else None."""


def read_csv(path, nan="error"):
    """Read a light-curve CSV in the exoTrain layout: one star per row, its class label
    first (an integer such as Kaggle's 1 and 2, or a name), then the flux samples; a header
    row is optional.

    Parameters
    ----------
    path : str or os.PathLike
    nan : {"error", "fill", "drop"}
        Missing samples (empty cells, NaN, inf, "NA"): an error naming the line and column,
        linear interpolation, or dropping the row; as ``--nan`` on the command line.

    Returns
    -------
    X : numpy.ndarray of float32, shape (rows, samples)
    y : numpy.ndarray of int64 (integer labels) or object (when any label is a name)

    Raises
    ------
    FileNotFoundError, IsADirectoryError, OSError
        The file cannot be read.
    ValueError
        The file is not in the layout; the message names the line, the column and the fix.
    """
    X, labels = _native.read_csv(path, nan)
    return X, label_array(labels)


def read_lightcurves(path_or_glob, flux="pdcsap", quality="default", mag=False, clip_flares=None):
    """Read mission light curves, one star per file or several files per star, as the
    command line's ``predict --data`` and ``inspect`` read them.

    Kepler and K2 ``*llc.fits`` and TESS ``*lc.fits`` files as MAST publishes them, and
    text tables ``time,flux[,flux_err[,quality]]`` (comma or whitespace separated, header
    optional). The files of one target (quarters, campaigns, sectors, by MAST's file names)
    are stitched into one light curve; cadences flagged by the quality mask and NaN or
    infinite values are dropped, and gaps stay gaps.

    Parameters
    ----------
    path_or_glob : str or os.PathLike
        A directory (searched recursively), a glob such as ``"lc/*.fits"``, or one file.
    flux : {"pdcsap", "sap"}
        The FITS flux column: PDCSAP_FLUX (trends removed) or SAP_FLUX; as ``--flux``.
    quality : str or int
        Quality flags that drop a cadence: "default" (lightkurve's default bitmask for the
        file's mission), "none", "hardest", or a bitmask; as ``--quality``.
    mag : bool
        Text files: the flux column holds magnitudes (a column named mag always does).
    clip_flares : float or None
        Drop points this many robust standard deviations above a half-day running median.

    Returns
    -------
    list of LightCurve
        One per target, in the order of ``starskope predict``'s rows (targets in the order
        of their first file in the sorted file list); each unpacks as
        ``target, time, flux, flux_err, files, mission``.

    Raises
    ------
    FileNotFoundError
        The path does not exist, or it names no light-curve file.
    OSError
        A file cannot be read.
    ValueError
        A file is not a light curve the reader knows, or an option is wrong; the message
        names the file and, for text, the line and column.
    """
    curves = _native.read_lightcurves(str(path_or_glob), flux, str(quality), bool(mag), clip_flares)
    return [
        LightCurve(target, time, flux_values, flux_err, files, mission)
        for target, files, mission, time, flux_values, flux_err in curves
    ]


def label_array(labels):
    """Labels as one numpy array: int64 when all are integers, else object."""
    if all(isinstance(label, int) for label in labels):
        return np.asarray(labels, dtype=np.int64)
    out = np.empty(len(labels), dtype=object)
    out[:] = labels
    return out


def series(X, name):
    """X as the engine takes it: a C-contiguous float32 (rows, samples) array.

    (N, L) is N light curves of L samples; (N, 1, L) is the same with its one channel
    spelled out. The engine prepares its input channels from one series per star (see the
    checkpoint's preprocessing), so more channels are refused rather than guessed at.
    """
    X = np.asarray(X)
    if X.ndim == 3:
        if X.shape[1] != 1:
            raise ValueError(
                f"{name}: has shape {X.shape}, {X.shape[1]} channels per light curve; the engine takes one "
                "series per star and makes its own channels from it (the flux and its moving average): "
                f"give {name} as (N, L) or (N, 1, L)"
            )
        X = X[:, 0, :]
    if X.ndim != 2:
        raise ValueError(
            f"{name}: has {X.ndim} dimension(s), shape {X.shape}; give light curves as an (N, L) array, "
            "one row per star (or (N, 1, L))"
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name}: has shape {X.shape}; it needs at least one light curve of at least one sample")
    if X.dtype.kind not in "fiu":
        raise ValueError(f"{name}: has dtype {X.dtype}; give float32 or float64 samples")
    return np.ascontiguousarray(X, dtype=np.float32)


def labels_list(y, rows, name):
    """y as the engine's labels: a list of int or str, one per row of X."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name}: has shape {y.shape}; give one label per light curve, a 1-D array")
    if len(y) != rows:
        raise ValueError(f"{name}: has {len(y)} labels, but X has {rows} light curves; give one label per row")
    if y.dtype.kind in "iub":
        return [int(v) for v in y]
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError(f"{name}: float labels must be whole numbers (class labels such as 1.0 and 2.0)")
        return [int(v) for v in y]
    return [v if isinstance(v, int) else str(v) for v in y.tolist()]
