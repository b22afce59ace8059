//! A data set of light-curve files: a directory (searched recursively), a glob, or one
//! file, with an optional labels table `target,label`.
//!
//! Listing reads no file: files are grouped into targets by name alone, so that a
//! directory of 100,000 files costs a list of paths, and each target is read when asked
//! ([`read_target`]), on any thread. MAST's own names give the target: `kplr011442793-*`
//! is KIC 11442793, `ktwo201367065-*` EPIC 201367065, `tess*-s0001-0000000261136679-*`
//! TIC 261136679 (the quarters, campaigns and sectors of one star are stitched into one
//! light curve); any other file is a target of its own named by its stem (all files of
//! one stem, in different directories, are one target).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::gzip::without_gz;
use super::{clean, stitch::stitch, LightCurve, LightCurveError, ReadOptions};

/// The file extensions a directory's light curves have, each also gzip-compressed
/// (`.fits.gz`); other files (README, licences) are passed over. A single file given by
/// name is read whatever its extension.
pub const EXTENSIONS: &[&str] = &["fits", "fit", "fts", "csv", "dat", "txt", "tsv", "tbl"];

/// One target's files, in path order, and its label from the labels table.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetFiles {
    pub target: String,
    pub files: Vec<PathBuf>,
    pub label: Option<String>,
}

/// Lists `path`'s light-curve files grouped by target, in the order their first file
/// sorts; `labels`, if given, is read and each target gets its label (a file in the data
/// set's directory of that name is not taken for a light curve).
pub fn list_targets(path: &str, labels: Option<&Path>) -> Result<Vec<TargetFiles>, LightCurveError> {
    let mut files = list_files(path)?;
    if let Some(labels) = labels {
        let labels =
            labels.canonicalize().map_err(|e| LightCurveError::io(&labels.display().to_string(), e))?;
        files.retain(|f| f.canonicalize().map_or(true, |f| f != labels));
    }
    if files.is_empty() {
        return Err(LightCurveError::NoFiles {
            path: path.to_string(),
            what: "holds no light-curve file".into(),
        });
    }
    let mut targets: Vec<TargetFiles> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for file in files {
        let target = target_of(&file);
        let at = *index.entry(target.clone()).or_insert_with(|| {
            targets.push(TargetFiles { target, files: Vec::new(), label: None });
            targets.len() - 1
        });
        targets[at].files.push(file);
    }
    if let Some(labels) = labels {
        attach_labels(labels, path, &mut targets)?;
    }
    Ok(targets)
}

/// Reads, cleans and stitches one target's files.
pub fn read_target(group: &TargetFiles, opts: &ReadOptions) -> Result<LightCurve, LightCurveError> {
    let mut parts = Vec::with_capacity(group.files.len());
    for file in &group.files {
        let raw = super::read_file(file, opts)?;
        if let (Some(from_name), Some(from_header)) = (mast_target(file), raw.source.target.as_deref()) {
            if from_name != from_header {
                return Err(LightCurveError::TargetMismatch {
                    path: file.display().to_string(),
                    from_name,
                    from_header: from_header.to_string(),
                });
            }
        }
        parts.push(clean(raw, opts.quality, &opts.clean)?);
    }
    stitch(&group.target, parts)
}

fn list_files(path: &str) -> Result<Vec<PathBuf>, LightCurveError> {
    let as_path = Path::new(path);
    let mut files = if as_path.is_dir() {
        let mut files = Vec::new();
        walk(as_path, &mut files)?;
        files
    } else if as_path.is_file() {
        vec![as_path.to_path_buf()]
    } else if path.contains(['*', '?', '[']) {
        let matches = glob::glob(path).map_err(|e| LightCurveError::NoFiles {
            path: path.to_string(),
            what: format!("is not a valid glob ({e})"),
        })?;
        let mut files = Vec::new();
        for entry in matches {
            let entry = entry.map_err(|e| {
                let name = e.path().display().to_string();
                LightCurveError::io(&name, e.into())
            })?;
            if entry.is_dir() {
                walk(&entry, &mut files)?;
            } else if entry.is_file() {
                files.push(entry);
            }
        }
        if files.is_empty() {
            return Err(LightCurveError::NoFiles { path: path.to_string(), what: "matches no file".into() });
        }
        files
    } else {
        return Err(LightCurveError::NotFound { path: path.to_string() });
    };
    files.sort();
    files.dedup();
    Ok(files)
}

/// The light-curve files under `dir`, hidden entries passed over.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), LightCurveError> {
    let io = |e| LightCurveError::io(&dir.display().to_string(), e);
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, files)?;
        } else if has_light_curve_extension(&path) {
            files.push(path);
        }
    }
    Ok(())
}

fn has_light_curve_extension(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    Path::new(without_gz(&name))
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// The target a file belongs to: the mission's identifier in a MAST file name, else the
/// stem (of the name without `.gz`: `star.csv.gz` is `star`).
pub fn target_of(file: &Path) -> String {
    mast_target(file).unwrap_or_else(|| {
        let name = file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        Path::new(without_gz(&name))
            .file_stem()
            .map_or_else(|| file.display().to_string(), |s| s.to_string_lossy().into_owned())
    })
}

/// The target named by a MAST light-curve file name: `kplrNNNNNNNNN-...` (Kepler),
/// `ktwoNNNNNNNNN-...` (K2), `tessYYYYDDDHHMMSS-sNNNN-NNNNNNNNNNNNNNNN-...` (TESS).
fn mast_target(file: &Path) -> Option<String> {
    let name = file.file_name()?.to_str()?.to_ascii_lowercase();
    let number = |digits: &str| digits.trim_start_matches('0').parse::<u64>().ok();
    let id_after = |prefix: &str| {
        let rest = name.strip_prefix(prefix)?;
        let digits = rest.get(..9)?;
        (digits.bytes().all(|b| b.is_ascii_digit()) && rest[9..].starts_with(['-', '_']))
            .then(|| number(digits))?
    };
    if let Some(id) = id_after("kplr") {
        return Some(format!("KIC {id}"));
    }
    if let Some(id) = id_after("ktwo") {
        return Some(format!("EPIC {id}"));
    }
    let mut fields = name.strip_prefix("tess")?.split('-');
    let (_, sector, tic) = (fields.next()?, fields.next()?, fields.next()?);
    let tic_ok = tic.len() == 16 && tic.bytes().all(|b| b.is_ascii_digit());
    (sector.starts_with('s') && tic_ok).then(|| number(tic).map(|id| format!("TIC {id}")))?
}

/// How a labels table's target matches a data set's: case and spaces do not count, so
/// that "KIC11442793" and "kic 11442793" name KIC 11442793.
fn match_key(target: &str) -> String {
    target.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// One row of a labels table: its line, target and label.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelRow {
    pub line: usize,
    pub target: String,
    pub label: String,
}

/// Reads a labels table: `target,label` rows (comma, tab or semicolon), an optional
/// header whose first cell is "target", `#` comments. Labels are kept as written.
pub fn read_labels(path: &Path) -> Result<Vec<LabelRow>, LightCurveError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| LightCurveError::io(&name, e))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut rows: Vec<LabelRow> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |what: &str| LightCurveError::BadLabelsRow {
            path: name.clone(),
            line: line_no,
            what: what.into(),
        };
        let cells: Vec<&str> = line.split([',', '\t', ';']).map(|c| c.trim().trim_matches('"')).collect();
        if rows.is_empty() && seen.is_empty() && cells[0].eq_ignore_ascii_case("target") {
            seen.insert(String::new(), line_no);
            continue;
        }
        match cells.as_slice() {
            [target, label, ..] if !target.is_empty() && !label.is_empty() => {
                if let Some(&first) = seen.get(&match_key(target)) {
                    return Err(LightCurveError::DuplicateLabel {
                        path: name,
                        line: line_no,
                        target: target.to_string(),
                        first,
                    });
                }
                seen.insert(match_key(target), line_no);
                rows.push(LabelRow { line: line_no, target: target.to_string(), label: label.to_string() });
            }
            [_, _, ..] => return Err(bad("the target or the label is empty")),
            _ => return Err(bad("the row has one column, not two")),
        }
    }
    Ok(rows)
}

fn attach_labels(labels: &Path, data: &str, targets: &mut [TargetFiles]) -> Result<(), LightCurveError> {
    let index: HashMap<String, usize> =
        targets.iter().enumerate().map(|(i, t)| (match_key(&t.target), i)).collect();
    for row in read_labels(labels)? {
        let Some(&at) = index.get(&match_key(&row.target)) else {
            return Err(LightCurveError::LabelWithoutFile {
                path: labels.display().to_string(),
                line: row.line,
                target: row.target,
                data: data.to_string(),
            });
        };
        targets[at].label = Some(row.label);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mast_file_names_give_the_target() {
        let t = |name: &str| target_of(Path::new(name));
        assert_eq!(t("dir/kplr011442793-2009350155506_llc.fits"), "KIC 11442793");
        assert_eq!(t("ktwo201367065-c01_llc.fits"), "EPIC 201367065");
        assert_eq!(t("tess2018206045859-s0001-0000000261136679-0120-s_lc.fits"), "TIC 261136679");
        assert_eq!(t("k2/K2-32_C3.dat"), "K2-32_C3");
        assert_eq!(t("kplr0114-x.fits"), "kplr0114-x");
        assert_eq!(t("kplr011442793-2009350155506_llc.fits.gz"), "KIC 11442793");
        assert_eq!(t("lc/star.csv.gz"), "star");
    }

    #[test]
    fn compressed_light_curves_are_listed_and_other_archives_are_not() {
        for (name, listed) in [
            ("a_llc.fits.gz", true),
            ("b.CSV.GZ", true),
            ("c.dat", true),
            ("d.tar.gz", false),
            ("e.gz", false),
        ] {
            assert_eq!(has_light_curve_extension(Path::new(name)), listed, "{name}");
        }
    }
}
