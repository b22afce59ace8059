//! Per-object data sets, as ground surveys hand them out: a directory with one CSV per
//! object, `<object_id>.csv`, with columns `time`, `band` and either `mag,magerr` or
//! `flux,fluxerr` (found by name, in any order; other columns ignored), and the objects'
//! classes in a label table ([`LabelTable`]): the directory's own `labels.csv`
//! (`object_id,label`) or a table named on the command line.
//!
//! Bands are LSST's u, g, r, i, z, y (any case: ZTF writes its r band "R") or their
//! PLAsTiCC numbers 0 to 5. Magnitudes become fluxes in microjansky, `10^(-0.4 (m - 23.9))`,
//! and their errors `flux * 0.4 ln 10 * magerr` (first order); every magnitude row is a
//! detection. A magnitude or magnitude error of [`SENTINEL_MAG`] or more is no
//! measurement but the marker SDSS and SExtractor write for one (99.99): such rows are
//! left out and counted.
//!
//! What is not silently dropped: an object of the label table without a file is an
//! error; files no label row names are left out with a counted warning (a labelled
//! subset of a directory is how a split is given); an object with fewer than
//! [`MIN_POINTS`] points in every band is left out with a counted warning.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::error::SurveyError;
use super::labels::LabelTable;
use super::reader::{Observation, Survey, SurveyObject, PASSBANDS};
use super::table::{read_table, Row, Schema};

/// An object needs this many points in at least one band to be classified.
pub const MIN_POINTS: usize = 5;

/// Magnitudes (and magnitude errors) from this value up mark a missing measurement.
pub const SENTINEL_MAG: f64 = 90.0;

/// The microjansky zero point of AB magnitudes: `m = 23.9 - 2.5 log10(flux / uJy)`.
const AB_ZERO_POINT_UJY: f64 = 23.9;

/// What reading left out, for the warnings the CLI prints.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Skipped {
    /// Files in the directory that the label table does not name.
    pub unlabelled_files: usize,
    /// Objects with fewer than [`MIN_POINTS`] points in every band: their ids.
    pub too_few_points: Vec<String>,
    /// Rows whose magnitude or error is a missing-value marker ([`SENTINEL_MAG`]).
    pub sentinel_rows: usize,
}

impl Skipped {
    pub fn warnings(&self, dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        if self.unlabelled_files > 0 {
            out.push(format!(
                "warning: {}: {} light-curve file(s) have no row in the label table and were left out",
                dir.display(),
                self.unlabelled_files
            ));
        }
        if let Some(first) = self.too_few_points.first() {
            out.push(format!(
                "warning: {}: {} object(s) have fewer than {MIN_POINTS} points in every band and were left out (first: {first})",
                dir.display(),
                self.too_few_points.len()
            ));
        }
        if self.sentinel_rows > 0 {
            out.push(format!(
                "warning: {}: {} row(s) with a magnitude or magnitude error of {SENTINEL_MAG} or more (a missing-value marker such as 99.99) were left out",
                dir.display(),
                self.sentinel_rows
            ));
        }
        out
    }
}

/// Reads the objects of `labels` (or, without a table, every `*.csv` of `dir` but
/// `labels.csv`, unlabelled) from `dir`, in the table's order (file name order without one).
pub fn read_objects(dir: &Path, labels: Option<&LabelTable>) -> Result<(Survey, Skipped), SurveyError> {
    let files = csv_files(dir)?;
    let mut skipped = Skipped::default();
    let wanted: Vec<(String, Option<crate::data::Label>, PathBuf)> = match labels {
        Some(table) => {
            let present: HashSet<&str> = files.iter().map(|(id, _)| id.as_str()).collect();
            let named: HashSet<&str> = table.ids.iter().map(String::as_str).collect();
            if let Some(k) = table.ids.iter().position(|id| !present.contains(id.as_str())) {
                return Err(SurveyError::MissingObjectFile {
                    labels: table.path.clone(),
                    line: table.lines[k],
                    object_id: table.ids[k].clone(),
                    file: dir.join(format!("{}.csv", table.ids[k])).display().to_string(),
                });
            }
            skipped.unlabelled_files = files.iter().filter(|(id, _)| !named.contains(id.as_str())).count();
            table
                .ids
                .iter()
                .zip(&table.labels)
                .map(|(id, l)| (id.clone(), Some(l.clone()), dir.join(format!("{id}.csv"))))
                .collect()
        }
        None => files.into_iter().map(|(id, path)| (id, None, path)).collect(),
    };
    let read: Vec<Result<(SurveyObject, usize), SurveyError>> = wanted
        .into_par_iter()
        .map(|(object_id, target, path)| {
            let (obs, sentinels) = read_object(&path)?;
            Ok((SurveyObject { object_id, meta: [f64::NAN; 10], target, obs }, sentinels))
        })
        .collect();
    let mut objects = Vec::with_capacity(read.len());
    for o in read {
        let (o, sentinels) = o?;
        skipped.sentinel_rows += sentinels;
        let mut per_band = [0usize; PASSBANDS.len()];
        o.obs.iter().for_each(|x| per_band[x.passband] += 1);
        if per_band.iter().all(|&n| n < MIN_POINTS) {
            skipped.too_few_points.push(o.object_id);
        } else {
            objects.push(o);
        }
    }
    if objects.is_empty() {
        return Err(SurveyError::NoUsableObjects { dir: dir.display().to_string(), min: MIN_POINTS });
    }
    Ok((Survey { source: dir.display().to_string(), objects, has_meta: false }, skipped))
}

/// `(object id, path)` of every `*.csv` in `dir` but `labels.csv`, by file name.
fn csv_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, SurveyError> {
    let name = dir.display().to_string();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| SurveyError::NotADirectory { path: name.clone(), reason: e.to_string() })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| SurveyError::NotADirectory { path: name.clone(), reason: e.to_string() })?
            .path();
        let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        match path.file_stem().and_then(|s| s.to_str()) {
            Some(stem) if is_csv && stem != "labels" => files.push((stem.to_string(), path.clone())),
            _ => {}
        }
    }
    files.sort();
    Ok(files)
}

const OBJECT_SCHEMA: Schema = Schema {
    what: "light-curve",
    required: &[&["time", "mjd"], &["band", "passband", "filter"]],
    optional: &["mag", "magerr", "flux", "fluxerr", "flux_err"],
};

/// One object's observations, in file order, and the number of sentinel rows left out.
pub fn read_object(path: &Path) -> Result<(Vec<Observation>, usize), SurveyError> {
    let mut obs = Vec::new();
    let mut sentinels = 0;
    let mut unit: Option<Unit> = None;
    read_table(path, &OBJECT_SCHEMA, |row, cols| {
        let u = match unit {
            Some(u) => u,
            None => *unit.insert(Unit::of(row, &cols.optional)?),
        };
        let (t, band) = (cols.required[0], cols.required[1]);
        let (value, error) = (row.number(u.value)?, row.number(u.error)?);
        if error <= 0.0 {
            return Err(row.bad(u.error, "is not a positive uncertainty", "Errors must be greater than 0."));
        }
        if u.magnitudes && (value >= SENTINEL_MAG || error >= SENTINEL_MAG) {
            sentinels += 1;
            return Ok(());
        }
        let (flux, flux_err) = if u.magnitudes {
            let flux = 10f64.powf(-0.4 * (value - AB_ZERO_POINT_UJY));
            (flux, flux * 0.4 * std::f64::consts::LN_10 * error)
        } else {
            (value, error)
        };
        obs.push(Observation {
            mjd: row.number(t)?,
            passband: passband(row, band)?,
            flux,
            flux_err,
            detected: true,
        });
        Ok(())
    })?;
    Ok((obs, sentinels))
}

/// Where the brightness columns are and whether they are magnitudes.
#[derive(Clone, Copy)]
struct Unit {
    value: usize,
    error: usize,
    magnitudes: bool,
}

impl Unit {
    /// `optional`: mag, magerr, flux, fluxerr, flux_err positions.
    fn of(row: &Row, optional: &[Option<usize>]) -> Result<Unit, SurveyError> {
        match optional {
            [Some(value), Some(error), ..] => Ok(Unit { value: *value, error: *error, magnitudes: true }),
            [_, _, Some(value), err, err2] => match err.or(*err2) {
                Some(error) => Ok(Unit { value: *value, error, magnitudes: false }),
                None => Err(SurveyError::NoBrightness { path: row.path.to_string() }),
            },
            _ => Err(SurveyError::NoBrightness { path: row.path.to_string() }),
        }
    }
}

fn passband(row: &Row, index: usize) -> Result<usize, SurveyError> {
    let text = row.text(index).to_ascii_lowercase();
    PASSBANDS
        .iter()
        .position(|b| *b == text)
        .or_else(|| text.parse::<usize>().ok().filter(|&b| b < PASSBANDS.len()))
        .ok_or_else(|| row.bad(index, "is not a band", "Bands are u, g, r, i, z, y (any case) or 0 to 5."))
}
