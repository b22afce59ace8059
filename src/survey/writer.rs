//! Writes a survey in the PLAsTiCC layout that [`super::reader::read_survey`] reads.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use super::reader::{Survey, META_COLUMNS};

/// Writes `obs_path` (`object_id,mjd,passband,flux,flux_err,detected_bool`) and
/// `meta_path` (with a `target` column when every object has one; missing values empty).
pub fn write_survey(survey: &Survey, obs_path: &Path, meta_path: &Path) -> Result<()> {
    let mut obs = String::from("object_id,mjd,passband,flux,flux_err,detected_bool\n");
    let mut meta = format!("object_id,{}", META_COLUMNS.join(","));
    let labelled = survey.labels();
    if labelled.is_some() {
        meta += ",target";
    }
    meta.push('\n');
    for o in &survey.objects {
        for x in &o.obs {
            let _ = writeln!(
                obs,
                "{},{},{},{},{},{}",
                o.object_id,
                x.mjd,
                x.passband,
                x.flux,
                x.flux_err,
                u8::from(x.detected)
            );
        }
        let _ = write!(meta, "{}", o.object_id);
        for m in o.meta {
            if m.is_nan() {
                meta.push(',');
            } else {
                let _ = write!(meta, ",{m}");
            }
        }
        if let (Some(_), Some(t)) = (&labelled, &o.target) {
            let _ = write!(meta, ",{}", t.csv_cell());
        }
        meta.push('\n');
    }
    for (path, text) in [(obs_path, obs), (meta_path, meta)] {
        std::fs::write(path, text).with_context(|| {
            format!("cannot write {}: check the directory exists and is writable", path.display())
        })?;
    }
    Ok(())
}
