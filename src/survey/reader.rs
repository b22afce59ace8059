//! Reads survey light curves in the PLAsTiCC layout (the Kaggle "PLAsTiCC Astronomical
//! Classification" files): an observations CSV with a header
//! `object_id,mjd,passband,flux,flux_err,detected_bool` (the training file's `detected`
//! is accepted too) and a metadata CSV with
//! `object_id,ra,decl,gal_l,gal_b,ddf,hostgal_specz,hostgal_photoz,hostgal_photoz_err,distmod,mwebv,target`.
//!
//! Columns are found by header name, in any order; extra columns are ignored. `target`
//! may be absent (unlabelled data) but not empty on some rows only. Metadata values may
//! be missing (empty, "nan", "NA": PLAsTiCC leaves `distmod` empty for galactic objects
//! and `hostgal_specz` for most test objects): they are read as NaN and the features turn
//! them into 0 plus a missing flag. Observation values must all be present and finite,
//! `passband` is 0..=5 (u, g, r, i, z, y) and `flux_err` positive.

use std::collections::HashMap;
use std::path::Path;

use crate::data::Label;

use super::error::SurveyError;
use super::table::{read_table, Row, Schema};

/// LSST's six passbands, in PLAsTiCC's numbering 0..=5.
pub const PASSBANDS: [&str; 6] = ["u", "g", "r", "i", "z", "y"];

/// The metadata columns that become features, in this order in [`SurveyObject::meta`].
pub const META_COLUMNS: [&str; 10] = [
    "ra",
    "decl",
    "gal_l",
    "gal_b",
    "ddf",
    "hostgal_specz",
    "hostgal_photoz",
    "hostgal_photoz_err",
    "distmod",
    "mwebv",
];

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observation {
    pub mjd: f64,
    /// 0..=5, an index into [`PASSBANDS`].
    pub passband: usize,
    pub flux: f64,
    pub flux_err: f64,
    pub detected: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SurveyObject {
    pub object_id: String,
    /// [`META_COLUMNS`] in order; NaN where the file has no value.
    pub meta: [f64; 10],
    pub target: Option<Label>,
    /// In file order (not necessarily sorted by time).
    pub obs: Vec<Observation>,
}

/// Objects in the metadata file's order, each with its observations.
#[derive(Clone, Debug, PartialEq)]
pub struct Survey {
    /// Where the objects came from ("obs.csv + meta.csv", or "synthetic"), for messages.
    pub source: String,
    pub objects: Vec<SurveyObject>,
    /// Whether the objects come with PLAsTiCC's metadata columns (per-object sets have none).
    pub has_meta: bool,
}

impl Survey {
    /// Every object's target, or None when the data are unlabelled.
    pub fn labels(&self) -> Option<Vec<Label>> {
        self.objects.iter().map(|o| o.target.clone()).collect()
    }
}

const OBS_SCHEMA: Schema = Schema {
    what: "observations",
    required: &[
        &["object_id"],
        &["mjd"],
        &["passband"],
        &["flux"],
        &["flux_err"],
        &["detected_bool", "detected"],
    ],
    optional: &[],
};

/// Reads both files of a PLAsTiCC-layout data set.
pub fn read_survey(obs_path: &Path, meta_path: &Path) -> Result<Survey, SurveyError> {
    let (mut objects, lines) = read_metadata(meta_path)?;
    let index: HashMap<String, usize> =
        objects.iter().enumerate().map(|(i, o)| (o.object_id.clone(), i)).collect();
    let meta_name = meta_path.display().to_string();
    read_table(obs_path, &OBS_SCHEMA, |row, cols| {
        let c = &cols.required;
        let object_id = row.integer(c[0])?;
        let &at = index.get(&object_id.to_string()).ok_or_else(|| SurveyError::UnknownObject {
            path: row.path.to_string(),
            line: row.line,
            object_id,
            meta: meta_name.clone(),
        })?;
        objects[at].obs.push(observation(row, c)?);
        Ok(())
    })?;
    if let Some((o, line)) = objects.iter().zip(&lines).find(|(o, _)| o.obs.is_empty()) {
        return Err(SurveyError::NoObservations {
            meta: meta_name,
            line: *line,
            object_id: o.object_id.clone(),
            obs: obs_path.display().to_string(),
        });
    }
    Ok(Survey {
        source: format!("{} + {}", obs_path.display(), meta_path.display()),
        objects,
        has_meta: true,
    })
}

fn observation(row: &Row, c: &[usize]) -> Result<Observation, SurveyError> {
    let passband = row.integer(c[2])?;
    if !(0..PASSBANDS.len() as i64).contains(&passband) {
        return Err(row.bad(
            c[2],
            "is not a passband",
            "PLAsTiCC numbers the passbands u, g, r, i, z, y as 0 to 5.",
        ));
    }
    let flux_err = row.number(c[4])?;
    if flux_err <= 0.0 {
        return Err(row.bad(c[4], "is not a positive uncertainty", "flux_err must be greater than 0."));
    }
    Ok(Observation {
        mjd: row.number(c[1])?,
        passband: passband as usize,
        flux: row.number(c[3])?,
        flux_err,
        detected: row.flag(c[5])?,
    })
}

/// The metadata rows as objects without observations, with the line each came from.
fn read_metadata(path: &Path) -> Result<(Vec<SurveyObject>, Vec<u64>), SurveyError> {
    let mut required: Vec<&[&str]> = vec![&["object_id"]];
    required.extend(META_COLUMNS.iter().map(std::slice::from_ref));
    let schema = Schema { what: "metadata", required: &required, optional: &["target"] };
    let mut objects: Vec<SurveyObject> = Vec::new();
    let mut lines = Vec::new();
    let mut seen: HashMap<i64, u64> = HashMap::new();
    read_table(path, &schema, |row, cols| {
        let object_id = row.integer(cols.required[0])?;
        if let Some(&first_line) = seen.get(&object_id) {
            return Err(SurveyError::DuplicateObject {
                path: row.path.to_string(),
                line: row.line,
                object_id,
                first_line,
            });
        }
        seen.insert(object_id, row.line);
        let mut meta = [0.0; 10];
        for (m, &c) in meta.iter_mut().zip(&cols.required[1..]) {
            *m = row.number_or_missing(c)?;
        }
        let target = match cols.optional[0] {
            Some(c) if row.is_missing(c) => {
                return Err(SurveyError::MissingTarget {
                    path: row.path.to_string(),
                    line: row.line,
                    object_id,
                })
            }
            Some(c) => Some(row.label(c)?),
            None => None,
        };
        objects.push(SurveyObject { object_id: object_id.to_string(), meta, target, obs: Vec::new() });
        lines.push(row.line);
        Ok(())
    })?;
    Ok((objects, lines))
}
