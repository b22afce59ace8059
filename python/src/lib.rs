//! `starskope._native`: the engine's entry points for the Python package. Arrays come in
//! as C-contiguous float32 numpy arrays (the Python half converts), checkpoints travel as
//! the bytes of the safetensors file, and every engine error becomes a Python exception
//! with the command line's message: ValueError for the user's data or options, OSError for
//! files, RuntimeError for the device.

use std::cell::RefCell;
use std::path::PathBuf;

use clap::ValueEnum;
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyFileNotFoundError, PyIsADirectoryError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3::IntoPyObjectExt;

use starskope::data::{self, DataError, Dataset, Label, NanPolicy, ReadOptions, SampleMode};
use starskope::device::{self, DeviceChoice};
use starskope::gpu::Precision;
use starskope::lightcurve::{self, FluxColumn, LightCurveError, QualityMask, ReadArgs};
use starskope::model::checkpoint::{self, Checkpoint};
use starskope::train::fit::{BadInput, FitObserver};
use starskope::train::infer;
use starskope::train::run::TrainArgs;
use starskope::train::trainer::EpochRecord;

/// The Python exception for an engine error, with the message the command line prints.
fn py_err(e: anyhow::Error) -> PyErr {
    let message = format!("{e:#}");
    if let Some(d) = e.chain().find_map(|c| c.downcast_ref::<DataError>()) {
        return match d {
            DataError::NotFound { .. } => PyFileNotFoundError::new_err(message),
            DataError::IsDirectory { .. } => PyIsADirectoryError::new_err(message),
            DataError::Unreadable { .. } => PyOSError::new_err(message),
            _ => PyValueError::new_err(message),
        };
    }
    if let Some(l) = e.chain().find_map(|c| c.downcast_ref::<LightCurveError>()) {
        return match l {
            LightCurveError::NotFound { .. } | LightCurveError::NoFiles { .. } => {
                PyFileNotFoundError::new_err(message)
            }
            LightCurveError::Unreadable { .. } => PyOSError::new_err(message),
            _ => PyValueError::new_err(message),
        };
    }
    if e.is::<BadInput>() {
        PyValueError::new_err(message)
    } else if e.chain().any(|c| c.is::<std::io::Error>()) {
        PyOSError::new_err(message)
    } else {
        PyRuntimeError::new_err(message)
    }
}

fn value_error(e: anyhow::Error) -> PyErr {
    PyValueError::new_err(format!("{e:#}"))
}

fn label_to_py(py: Python<'_>, label: &Label) -> PyResult<Py<PyAny>> {
    match label {
        Label::Int(i) => i.into_py_any(py),
        Label::Name(s) => s.into_py_any(py),
    }
}

/// An int, or a str read as the CSV reader reads a label cell ("2" is the integer 2).
fn label_from_py(value: &Bound<'_, PyAny>) -> PyResult<Label> {
    if let Ok(i) = value.extract::<i64>() {
        return Ok(Label::Int(i));
    }
    let text: String = value.extract().map_err(|_| {
        PyValueError::new_err(format!("the label {value} is neither an integer nor a string"))
    })?;
    text.parse::<Label>().map_err(PyValueError::new_err)
}

/// Rows of a (rows, len) float32 array, with their labels, as a data set named `source`.
fn dataset(source: &str, x: &PyReadonlyArray2<'_, f32>, labels: Vec<Label>) -> PyResult<Dataset> {
    let len = x.shape()[1];
    let values = x.as_slice().map_err(|e| PyValueError::new_err(format!("{source}: {e}")))?.to_vec();
    Ok(Dataset { source: source.to_string(), labels, values, len })
}

fn labels(y: &[Bound<'_, PyAny>]) -> PyResult<Vec<Label>> {
    y.iter().map(label_from_py).collect()
}

fn parse_enum<T: ValueEnum>(what: &str, value: &str) -> PyResult<T> {
    T::from_str(value, true).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        PyValueError::new_err(format!("{what} must be one of {}, got {value:?}", names.join(", ")))
    })
}

/// The engine's backend for `device` and `precision`, as `--device` and `--precision` choose.
fn backend_choice(device: &str, precision: &str) -> PyResult<(DeviceChoice, Precision)> {
    let choice: DeviceChoice = parse_enum("device", device)?;
    let precision: Precision = parse_enum("precision", precision)?;
    device::check_precision(choice, precision).map_err(value_error)?;
    Ok((choice, precision))
}

/// read_csv(path, nan="error") -> (values, labels): a light-curve CSV (label column first)
/// as a (rows, samples) float32 array and the list of labels (int or str).
#[pyfunction]
#[pyo3(signature = (path, nan = "error"))]
fn read_csv<'py>(py: Python<'py>, path: PathBuf, nan: &str) -> PyResult<(Bound<'py, PyAny>, Vec<Py<PyAny>>)> {
    let nan: NanPolicy = parse_enum("nan", nan)?;
    let ds = py.detach(|| data::read_csv(&path, &ReadOptions { nan })).map_err(|e| py_err(e.into()))?;
    let rows = ds.rows();
    let values = PyArray1::from_vec(py, ds.values).reshape([rows, ds.len])?;
    let labels = ds.labels.iter().map(|l| label_to_py(py, l)).collect::<PyResult<_>>()?;
    Ok((values.into_any(), labels))
}

/// One target's stitched light curve: target, file names, mission (or None), then time,
/// relative flux and its errors (None when a file has none) as float64 arrays.
type Curve<'py> =
    (String, Vec<String>, Option<String>, Bound<'py, PyAny>, Bound<'py, PyAny>, Option<Bound<'py, PyAny>>);

/// read_lightcurves(path, flux, quality, mag, clip_flares) -> list of [`Curve`]: every
/// target of a directory (searched recursively), a glob or one file, read, cleaned and
/// stitched as `starskope predict --data PATH` reads them, in its order.
#[pyfunction]
#[pyo3(signature = (path, flux = "pdcsap", quality = "default", mag = false, clip_flares = None))]
fn read_lightcurves<'py>(
    py: Python<'py>,
    path: String,
    flux: &str,
    quality: &str,
    mag: bool,
    clip_flares: Option<f64>,
) -> PyResult<Vec<Curve<'py>>> {
    let flux: FluxColumn = parse_enum("flux", flux)?;
    let quality: QualityMask = quality.parse().map_err(|e| PyValueError::new_err(format!("quality: {e}")))?;
    let opts = ReadArgs { labels: None, flux, quality, mag, clip_flares }.options();
    let curves = py
        .detach(|| -> Result<Vec<_>, LightCurveError> {
            lightcurve::list_targets(&path, None)?.iter().map(|t| lightcurve::read_target(t, &opts)).collect()
        })
        .map_err(|e| py_err(e.into()))?;
    curves
        .into_iter()
        .map(|c| {
            let err = c.flux_err.map(|e| PyArray1::from_vec(py, e).into_any());
            let (time, flux) =
                (PyArray1::from_vec(py, c.time).into_any(), PyArray1::from_vec(py, c.flux).into_any());
            Ok((c.target, c.files, c.mission, time, flux, err))
        })
        .collect()
}

/// The training recipe, the keys of the dict `fit` takes (all present, None for a default).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Params {
    model: String,
    epochs: Option<usize>,
    batch: Option<usize>,
    lr: Option<f32>,
    seed: u64,
    smooth: Option<usize>,
    members: Option<usize>,
    class_weights: bool,
    patience: Option<usize>,
    sampling: Option<String>,
    roll: Option<bool>,
    device: String,
    precision: String,
}

impl Params {
    fn train_args(&self) -> PyResult<TrainArgs> {
        let sampling = match self.sampling.as_deref() {
            None => None,
            Some("balanced") => Some(SampleMode::Balanced),
            Some("shuffled") => Some(SampleMode::Shuffled),
            Some(other) => {
                return Err(PyValueError::new_err(format!(
                    "sampling must be \"balanced\" or \"shuffled\", got {other:?}"
                )))
            }
        };
        Ok(TrainArgs {
            model: self.model.clone(),
            epochs: self.epochs,
            batch: self.batch,
            lr: self.lr,
            seed: self.seed,
            smooth: self.smooth,
            members: self.members,
            class_weights: self.class_weights,
            patience: self.patience,
            sampling,
            roll: self.roll,
            ..TrainArgs::default()
        })
    }
}

/// Calls the Python callback after each epoch, and stops the run on Ctrl-C: Python's
/// signal handler runs between steps, and its KeyboardInterrupt is kept for the caller.
struct PyObserver {
    callback: Option<Py<PyAny>>,
    raised: RefCell<Option<PyErr>>,
}

impl FitObserver for PyObserver {
    fn epoch(&mut self, record: &EpochRecord, epochs: usize, improved: bool) -> anyhow::Result<()> {
        let Some(callback) = &self.callback else { return Ok(()) };
        let json = serde_json::to_string(record)?;
        let line = record.line(epochs, improved);
        Python::attach(|py| callback.call1(py, (json, line, improved)).map(drop)).map_err(|e| {
            *self.raised.borrow_mut() = Some(e);
            anyhow::anyhow!("the epoch callback raised an exception")
        })
    }

    fn interrupted(&self) -> bool {
        match Python::attach(|py| py.check_signals()) {
            Ok(()) => false,
            Err(e) => {
                *self.raised.borrow_mut() = Some(e);
                true
            }
        }
    }
}

/// What `fit` hands Python: the checkpoint's bytes (None when no epoch finished), the
/// history as JSON records, and the exception that stopped the run (KeyboardInterrupt).
type Fitted<'py> = (Option<Bound<'py, PyBytes>>, Vec<String>, Option<PyErr>);

/// fit(x, y, x_val, y_val, params, callback) -> (checkpoint bytes or None, history as JSON
/// lines, the exception that stopped the run or None). `callback(record_json, line,
/// improved)` runs after every epoch. The GIL is released while the engine trains.
#[pyfunction]
#[pyo3(signature = (x, y, x_val, y_val, params, callback = None))]
fn fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    y: Vec<Bound<'py, PyAny>>,
    x_val: Option<PyReadonlyArray2<'py, f32>>,
    y_val: Option<Vec<Bound<'py, PyAny>>>,
    params: Params,
    callback: Option<Py<PyAny>>,
) -> PyResult<Fitted<'py>> {
    let args = params.train_args()?;
    let (choice, precision) = backend_choice(&params.device, &params.precision)?;
    let train = dataset("X", &x, labels(&y)?)?;
    let val = match (&x_val, y_val) {
        (Some(xv), Some(yv)) => Some(dataset("X_val", xv, labels(&yv)?)?),
        _ => None,
    };
    let mut observer = PyObserver { callback, raised: RefCell::new(None) };
    let result = py.detach(|| -> anyhow::Result<_> {
        let mut be = device::open_at(choice, precision)?;
        let fitted = starskope::train::fit::fit(be.as_mut(), &args, train, val, &mut observer)?;
        Ok((fitted.checkpoint_bytes()?, fitted.progress.history))
    });
    let raised = observer.raised.into_inner();
    let ((bytes, history), raised) = match (result, raised) {
        (Err(_), Some(callback_error)) => return Err(callback_error),
        (Err(e), None) => return Err(py_err(e)),
        (Ok(done), raised) => (done, raised),
    };
    let history = history
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<_, _>>()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot describe the history: {e}")))?;
    Ok((bytes.map(|b| PyBytes::new(py, &b)), history, raised))
}

fn checkpoint_from(bytes: &[u8], name: &str) -> PyResult<Checkpoint> {
    checkpoint::from_bytes(bytes, name).map_err(value_error)
}

/// predict_proba(checkpoint, x, device, precision, name) -> (rows, classes) float32
/// probabilities, computed as `starskope predict` computes them.
#[pyfunction]
fn predict_proba<'py>(
    py: Python<'py>,
    checkpoint: &[u8],
    x: PyReadonlyArray2<'py, f32>,
    device: &str,
    precision: &str,
    name: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let ck = checkpoint_from(checkpoint, name)?;
    let (choice, precision) = backend_choice(device, precision)?;
    let rows = x.shape()[0];
    let ds = dataset("X", &x, vec![Label::Int(0); rows])?;
    ds.check_finite().map_err(|e| py_err(e.into()))?;
    infer::check_length(&ck.card, name, &ds).map_err(value_error)?;
    let classes = ck.card.classes.len();
    let probs = py
        .detach(|| -> anyhow::Result<Vec<f32>> {
            let mut be = device::open_at(choice, precision)?;
            infer::probabilities(be.as_mut(), &ck, name, ds)
        })
        .map_err(py_err)?;
    Ok(PyArray1::from_vec(py, probs).reshape([rows, classes])?.into_any())
}

/// predict_csv(checkpoint, name, path, device) -> str: the file `starskope predict --data
/// PATH` writes with this checkpoint, as text.
#[pyfunction]
fn predict_csv(
    py: Python<'_>,
    checkpoint: &[u8],
    name: &str,
    path: PathBuf,
    device: &str,
) -> PyResult<String> {
    let ck = checkpoint_from(checkpoint, name)?;
    let (choice, precision) = backend_choice(device, "f32")?;
    py.detach(|| -> anyhow::Result<String> {
        let mut be = device::open_at(choice, precision)?;
        Ok(infer::score_with(be.as_mut(), ck, name, &path, &ReadOptions::default())?.to_csv())
    })
    .map_err(py_err)
}

/// describe(checkpoint, name) -> (classes, length, card JSON): checks the bytes are a
/// usable checkpoint and says what model it holds.
#[pyfunction]
fn describe(py: Python<'_>, checkpoint: &[u8], name: &str) -> PyResult<(Vec<Py<PyAny>>, usize, String)> {
    let ck = checkpoint_from(checkpoint, name)?;
    let classes = ck.card.classes.iter().map(|l| label_to_py(py, l)).collect::<PyResult<_>>()?;
    let card = serde_json::to_string(&ck.card).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok((classes, ck.card.length, card))
}

/// read_checkpoint(path) -> bytes: a checkpoint file, checked as `starskope predict` checks it.
#[pyfunction]
fn read_checkpoint<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = std::fs::read(&path).map_err(|e| {
        let message = format!("cannot read checkpoint {}: {e}", path.display());
        match e.kind() {
            std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
            _ => PyOSError::new_err(message),
        }
    })?;
    checkpoint_from(&bytes, &path.display().to_string())?;
    Ok(PyBytes::new(py, &bytes))
}

/// write_checkpoint(path, bytes): written atomically (a temporary file, then a rename).
#[pyfunction]
fn write_checkpoint(path: PathBuf, checkpoint: &[u8]) -> PyResult<()> {
    checkpoint::write_atomically(&path, checkpoint).map_err(|e| PyOSError::new_err(format!("{e:#}")))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_csv, m)?)?;
    m.add_function(wrap_pyfunction!(read_lightcurves, m)?)?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(predict_proba, m)?)?;
    m.add_function(wrap_pyfunction!(predict_csv, m)?)?;
    m.add_function(wrap_pyfunction!(describe, m)?)?;
    m.add_function(wrap_pyfunction!(read_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(write_checkpoint, m)?)?;
    Ok(())
}
