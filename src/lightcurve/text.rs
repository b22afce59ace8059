//! Text light curves, one star per file: `time,flux[,flux_err[,quality]]`.
//!
//! Comma- or whitespace-separated (the first data row decides), with or without a header;
//! a header may start with `#` (`# time,flux,flux_err`), and other `#` lines are comments.
//! With a header, columns are found by name (time/BJD/BKJD/BTJD..., flux, mag, flux_err,
//! quality) and other columns (an `instrument` column, say) are ignored; without one, they
//! are time, flux, then flux_err and quality where the first row has numbers there. A
//! column named `mag`, or `magnitudes`, makes the flux column magnitudes, turned into
//! relative flux 10^(-0.4 (m - median m)).
//!
//! Empty cells and "NaN"/"NA"/"null" in the flux or error columns are missing values (the
//! cleaning drops the row); a time that is not a number is an error naming line and column.

use super::{LightCurveError, RawPart, Source};

const TIME_NAMES: &[&str] = &["time", "t", "bjd", "bkjd", "btjd", "jd", "hjd", "mjd", "bjd_tdb", "date"];
const FLUX_NAMES: &[&str] = &[
    "flux",
    "f",
    "pdcsap_flux",
    "sap_flux",
    "rel_flux",
    "relflux",
    "norm_flux",
    "normalized_flux",
    "flux_norm",
];
const MAG_NAMES: &[&str] = &["mag", "mags", "magnitude"];
const ERR_NAMES: &[&str] = &[
    "flux_err",
    "fluxerr",
    "flux_error",
    "e_flux",
    "err",
    "error",
    "sigma",
    "dflux",
    "pdcsap_flux_err",
    "sap_flux_err",
    "mag_err",
    "magerr",
    "e_mag",
];
const QUALITY_NAMES: &[&str] = &["quality", "sap_quality", "flag", "flags", "qual"];

/// The 0-based columns each role reads.
#[derive(Debug, PartialEq)]
struct Roles {
    time: usize,
    flux: usize,
    err: Option<usize>,
    quality: Option<usize>,
    magnitudes: bool,
}

#[derive(Clone, Copy)]
enum Separator {
    Comma,
    Whitespace,
}

impl Separator {
    fn split(self, line: &str) -> Vec<&str> {
        match self {
            Separator::Comma => line.split(',').map(str::trim).collect(),
            Separator::Whitespace => line.split_whitespace().collect(),
        }
    }
}

fn is_number(cell: &str) -> bool {
    cell.trim().parse::<f64>().is_ok()
}

/// Columns a light-curve table without a header has at most: time, flux, flux_err,
/// quality and one more (an instrument's name).
const MAX_HEADERLESS_COLUMNS: usize = 5;
/// Data rows [`looks_like_a_light_curve`] looks at.
const SNIFFED_ROWS: usize = 32;

/// Whether `head`, the first whole lines of a text file, read as a light curve rather
/// than as a CSV in the training layout, one series per row after its class label
/// (exoTrain, UCR). A header that names a time, flux or magnitude column decides. Without
/// one the column count alone cannot: a UCR file of 3-sample series has 4 columns, as a
/// light curve with errors and flags does. A light curve's first column is its time,
/// which increases down the rows; a label column repeats its few classes (or is a name).
pub fn looks_like_a_light_curve(head: &str) -> bool {
    let lines: Vec<&str> = head.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let first_data = lines.iter().position(|l| !l.starts_with('#') && has_a_number(l)).unwrap_or(lines.len());
    let names_a_column = lines[..first_data].last().is_some_and(|header| {
        let names = cells(header.trim_start_matches('#'))
            .map(|c| c.trim_matches(|q| q == '"' || q == '\'').to_ascii_lowercase())
            .collect::<Vec<_>>();
        let roles = [TIME_NAMES, FLUX_NAMES, MAG_NAMES];
        names.iter().any(|n| n.starts_with("time") || roles.iter().any(|set| set.contains(&n.as_str())))
    });
    if names_a_column {
        return true;
    }
    let rows: Vec<Vec<&str>> = lines[first_data..]
        .iter()
        .filter(|l| !l.starts_with('#'))
        .take(SNIFFED_ROWS)
        .map(|l| cells(l).collect())
        .collect();
    let times: Option<Vec<f64>> = rows.iter().map(|r| r.first()?.parse::<f64>().ok()).collect();
    let Some(mut times) = times.filter(|t| !t.is_empty()) else { return false };
    times.retain(|t| t.is_finite());
    rows.iter().all(|r| r.len() <= MAX_HEADERLESS_COLUMNS) && times.windows(2).all(|w| w[0] < w[1])
}

/// A line's cells, split at commas, semicolons and whitespace.
fn cells(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| c == ',' || c == ';' || c.is_whitespace()).filter(|c| !c.is_empty())
}

/// Reads a text light curve; `magnitudes` says the flux column holds magnitudes.
pub fn parse(name: &str, bytes: &[u8], magnitudes: bool) -> Result<RawPart, LightCurveError> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
        .collect();
    if lines.is_empty() {
        return Err(LightCurveError::Empty { path: name.to_string() });
    }
    let first_data = lines.iter().position(|(_, line)| !line.starts_with('#') && has_a_number(line));
    let Some(first_data) = first_data else {
        // No row starts with a number: the first row after a possible header names the error.
        let rows: Vec<_> = lines.iter().filter(|(_, l)| !l.starts_with('#')).collect();
        return Err(match rows.get(1).or(rows.first()) {
            Some(&&(line, row)) if rows.len() > 1 => {
                let header = Some(first_cell(rows[0].1).trim_start_matches('#').to_ascii_lowercase());
                not_numeric(name, line, 1, header, first_cell(row), "The time")
            }
            _ => LightCurveError::TooFewPoints { path: name.to_string(), points: 0 },
        });
    };
    let separator = if lines[first_data].1.contains(',') { Separator::Comma } else { Separator::Whitespace };
    let first_cells = separator.split(lines[first_data].1);

    // The header: the last line before the data, `#` or not; any other non-comment line
    // there is a row whose time is not a number.
    let mut header: Option<Vec<String>> = None;
    for &(line, row) in &lines[..first_data] {
        let (commented, body) = match row.strip_prefix('#') {
            Some(body) => (true, body.trim()),
            None => (false, row),
        };
        let cells: Vec<String> = body
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|c| !c.is_empty())
            .map(|c| c.trim_matches(|q| q == '"' || q == '\'').to_ascii_lowercase())
            .collect();
        let is_header = cells.iter().any(|c| !is_number(c)) && (!commented || cells.len() >= 2);
        if is_header && (header.is_none() || commented) {
            header = Some(cells);
        } else if !commented {
            return Err(not_numeric(name, line, 1, None, first_cell(row), "The time"));
        }
    }
    let roles = match &header {
        Some(names) => roles_from_names(names, magnitudes),
        None => Roles {
            time: 0,
            flux: 1,
            err: first_cells.get(2).filter(|c| is_number(c)).map(|_| 2),
            quality: first_cells.get(3).filter(|c| c.parse::<u32>().is_ok()).map(|_| 3),
            magnitudes,
        },
    };
    let header_name = |column: usize| header.as_ref().and_then(|h| h.get(column).cloned());

    let rows = lines.len() - first_data;
    let mut part = RawPart {
        source: Source {
            file: name.to_string(),
            flux_column: header_name(roles.flux).unwrap_or_else(|| format!("column {}", roles.flux + 1)),
            ..Source::default()
        },
        time: Vec::with_capacity(rows),
        flux: Vec::with_capacity(rows),
        flux_err: roles.err.map(|_| Vec::with_capacity(rows)),
        quality: roles.quality.map(|_| Vec::with_capacity(rows)),
    };
    let needed = [
        Some((roles.time, "time")),
        Some((roles.flux, "flux")),
        roles.err.map(|c| (c, "flux error")),
        roles.quality.map(|c| (c, "quality flag")),
    ];
    for &(line, row) in &lines[first_data..] {
        if row.starts_with('#') {
            continue;
        }
        let cells = separator.split(row);
        if let Some((column, role)) =
            needed.iter().flatten().filter(|(c, _)| *c >= cells.len()).max_by_key(|(c, _)| *c)
        {
            return Err(LightCurveError::ShortRow {
                path: name.to_string(),
                line,
                found: cells.len(),
                needed: column + 1,
                role: role.to_string(),
            });
        }
        let time = cells[roles.time];
        part.time.push(time.parse::<f64>().map_err(|_| {
            not_numeric(name, line, roles.time + 1, header_name(roles.time), time, "The time")
        })?);
        part.flux.push(value(cells[roles.flux]).ok_or_else(|| {
            not_numeric(name, line, roles.flux + 1, header_name(roles.flux), cells[roles.flux], "The flux")
        })?);
        if let (Some(column), Some(errs)) = (roles.err, part.flux_err.as_mut()) {
            errs.push(value(cells[column]).ok_or_else(|| {
                not_numeric(name, line, column + 1, header_name(column), cells[column], "The flux error")
            })?);
        }
        if let (Some(column), Some(flags)) = (roles.quality, part.quality.as_mut()) {
            flags.push(quality(cells[column]).ok_or_else(|| LightCurveError::BadQuality {
                path: name.to_string(),
                line,
                column: column + 1,
                name: header_name(column),
                text: cells[column].to_string(),
            })?);
        }
    }
    if roles.magnitudes {
        magnitudes_to_flux(&mut part);
    }
    Ok(part)
}

/// A data row has numbers; a header has names only.
fn has_a_number(line: &str) -> bool {
    line.split(|c: char| c == ',' || c.is_whitespace()).any(is_number)
}

fn first_cell(line: &str) -> &str {
    line.split(|c: char| c == ',' || c.is_whitespace()).next().unwrap_or("")
}

fn not_numeric(
    path: &str,
    line: usize,
    column: usize,
    name: Option<String>,
    text: &str,
    what: &str,
) -> LightCurveError {
    LightCurveError::NotNumeric {
        path: path.to_string(),
        line,
        column,
        name,
        text: text.chars().take(40).collect(),
        what: what.to_string(),
    }
}

/// A flux or error cell: a number, or NaN for a missing-value marker.
fn value(cell: &str) -> Option<f64> {
    cell.parse().ok().or_else(|| {
        let missing = ["", "na", "n/a", "null", "none", "--"];
        missing.iter().any(|m| cell.eq_ignore_ascii_case(m)).then_some(f64::NAN)
    })
}

/// A quality cell: a non-negative integer (written "0" or "0.0"); empty means no flag.
fn quality(cell: &str) -> Option<u32> {
    if cell.is_empty() {
        return Some(0);
    }
    cell.parse::<u32>().ok().or_else(|| {
        let v = cell.parse::<f64>().ok()?;
        (v >= 0.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX)).then_some(v as u32)
    })
}

fn roles_from_names(names: &[String], magnitudes: bool) -> Roles {
    let find = |set: &[&str]| names.iter().position(|n| set.contains(&n.as_str()));
    let time = find(TIME_NAMES).or_else(|| names.iter().position(|n| n.starts_with("time"))).unwrap_or(0);
    let mag = find(MAG_NAMES);
    let flux = find(FLUX_NAMES).or(mag).unwrap_or(if time == 1 { 0 } else { 1 });
    Roles {
        time,
        flux,
        err: find(ERR_NAMES),
        quality: find(QUALITY_NAMES),
        magnitudes: magnitudes || (mag == Some(flux)),
    }
}

/// Magnitudes to flux relative to the median magnitude; errors scale with the flux.
fn magnitudes_to_flux(part: &mut RawPart) {
    let mut finite: Vec<f64> = part.flux.iter().copied().filter(|m| m.is_finite()).collect();
    let Some(reference) = super::clean::median(&mut finite) else { return };
    for m in part.flux.iter_mut() {
        *m = 10f64.powf(-0.4 * (*m - reference));
    }
    if let Some(errs) = part.flux_err.as_mut() {
        for (e, f) in errs.iter_mut().zip(&part.flux) {
            *e *= f * std::f64::consts::LN_10 / 2.5;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<RawPart, LightCurveError> {
        parse("t.csv", text.as_bytes(), false)
    }

    #[test]
    fn reads_headerless_comma_and_whitespace_tables() {
        let p = read("1.0,1.01\n2.0,0.99\n").unwrap();
        assert_eq!((p.time, p.flux, p.flux_err), (vec![1.0, 2.0], vec![1.01, 0.99], None));
        let p = read("1.0 1.01 0.001 K2\n2.0 0.99 0.002 K2\n").unwrap();
        assert_eq!(p.flux_err, Some(vec![0.001, 0.002]));
        assert_eq!(p.quality, None);
        let p = read("1.0\t1.01\t0.001\t0\n2.0\t0.99\t0.002\t512\n").unwrap();
        assert_eq!(p.quality, Some(vec![0, 512]));
    }

    #[test]
    fn finds_columns_by_header_name() {
        let p = read("# time,flux,flux_err\n1,2,0.1\n2,3,0.1\n").unwrap();
        assert_eq!(p.flux, vec![2.0, 3.0]);
        let p = read("instrument,flux,BJD,quality\nK2,1.0,5.0,0\nK2,1.1,6.0,1\n").unwrap();
        assert_eq!((p.time, p.flux, p.quality), (vec![5.0, 6.0], vec![1.0, 1.1], Some(vec![0, 1])));
        assert_eq!(p.source.flux_column, "flux");
    }

    #[test]
    fn magnitudes_become_relative_flux() {
        let p = read("time,mag,magerr\n1,10.0,0.01\n2,11.0,0.01\n3,10.0,0.01\n").unwrap();
        assert!((p.flux[0] - 1.0).abs() < 1e-12 && (p.flux[1] - 10f64.powf(-0.4)).abs() < 1e-12);
        assert!((p.flux_err.unwrap()[0] - 0.01 * std::f64::consts::LN_10 / 2.5).abs() < 1e-12);
        let p = parse("t.csv", b"1 10\n2 11\n3 10\n", true).unwrap();
        assert!((p.flux[1] - 10f64.powf(-0.4)).abs() < 1e-12);
    }

    #[test]
    fn missing_flux_is_nan_and_comments_are_skipped() {
        let p = read("# from somewhere\n1,nan\n# gap\n2,\n3,NA\n4,1\n").unwrap();
        assert_eq!(p.flux.iter().filter(|f| f.is_nan()).count(), 3);
        assert_eq!(p.time, vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn light_curves_are_told_from_training_layout_csvs_of_as_few_columns() {
        for curve in [
            "1.0,1.01\n2.0,0.99\n",
            "# time,flux,flux_err\n1,2,0.1\n",
            "2456894.49 0.9993 0.0001 K2\n2456894.51 0.9988 0.0001 K2\n",
            "# K2 light curve\n1,1,0.1,0\n2,1,0.1,0\n3,nan,0.1,0\nnan,1,1,1\n4,1,0.1,0\n",
            "label,flux,time\n1,1.0,5.0\n1,1.1,6.0\n",
            "5.0,1.0\n",
        ] {
            assert!(looks_like_a_light_curve(curve), "{curve:?}");
        }
        // Label + 3 samples (UCR), with and without a header; exoTrain's header; a name.
        for table in [
            "1,0.5,0.7,0.1\n2,0.4,0.2,0.3\n1,0.1,0.2,0.3\n",
            "2,0.5,0.7,0.1\n1,0.4,0.2,0.3\n",
            "label,a,b,c\n1,0.5,0.7,0.1\n1,0.4,0.2,0.3\n",
            "LABEL,FLUX.1,FLUX.2,FLUX.3\n2,0.5,0.7,0.1\n1,0.4,0.2,0.3\n",
            "ab,0.5,0.7\ncd,0.4,0.2\n",
            "1,2,3,4,5,6\n",
            "",
        ] {
            assert!(!looks_like_a_light_curve(table), "{table:?}");
        }
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = read("time,flux\n1,1\nx2,1\n").unwrap_err().to_string();
        assert!(e.contains("t.csv: line 3, column 1 (\"time\"): \"x2\" is not a number"), "{e}");
        let e = read("1,1\n2,abc\n").unwrap_err().to_string();
        assert!(e.contains("line 2, column 2: \"abc\""), "{e}");
        let e = read("1,1,0.1\n2,1\n").unwrap_err().to_string();
        assert!(e.contains("line 2: the row has 2 column(s), but the flux error is column 3"), "{e}");
        let e = read("time,flux\nfoo,bar\n").unwrap_err().to_string();
        assert!(e.contains("line 2, column 1 (\"time\"): \"foo\""), "{e}");
        let e = read("\n\n").unwrap_err().to_string();
        assert!(e.contains("the file is empty"), "{e}");
    }
}
