"""Starskøpe from Python: train and score light-curve classifiers in a notebook.

The engine is the one behind the ``starskope`` command line (Rust, WGSL kernels on any GPU
that Vulkan, Metal or DX12 reaches, or a plain-Rust CPU backend); this package hands it
numpy arrays. Checkpoints are the command line's safetensors files, in both directions.

    >>> import starskope
    >>> X, y = starskope.read_csv("exoTrain.csv")
    >>> clf = starskope.Classifier(epochs=5, device="cpu").fit(X, y)
    >>> clf.predict_proba(X_test)[:, 1]          # probability of the second class
    >>> clf.save("model.safetensors")            # `starskope predict --model` reads it
    >>> for target, time, flux, flux_err, files, mission in starskope.read_lightcurves("lc/"):
    ...     print(target, len(time))                 # per star, stitched as the CLI does
"""

import os

# Mesa's device-select Vulkan layer prints "error: XDG_RUNTIME_DIR is invalid" without a
# display session; wgpu picks adapters itself (the command line silences it the same way).
# Set before the engine loads, while no thread of ours reads the environment.
if "MESA_VK_DEVICE_SELECT" not in os.environ:
    os.environ.setdefault("NODEVICE_SELECT", "1")

from ._classifier import Classifier, NotFittedError, load
from ._data import LightCurve, read_csv, read_lightcurves

__all__ = ["Classifier", "LightCurve", "NotFittedError", "load", "read_csv", "read_lightcurves"]
