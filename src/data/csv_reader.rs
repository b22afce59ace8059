//! Reads light curves from CSV: an integer class label in the first column, the samples
//! in the rest (the Kaggle exoTrain/exoTest layout, `LABEL,FLUX.1,...,FLUX.3197`, and UCR
//! archive files converted to it; with or without a header row).
//!
//! Every problem in the file is a [`DataError`] naming the file, the 1-based line and
//! column, and the fix. Tolerated without complaint: a UTF-8 byte-order mark, CRLF line
//! ends, blank lines, whitespace around cells, and labels written as floats with no
//! fractional part ("2.0", as pandas writes an integer column that once held a NaN).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::dataset::Dataset;
use super::error::{Column, DataError};
use super::label::Label;

/// What to do with a missing sample: an empty cell, NaN, inf, or a missing-value marker
/// such as "NA" or "null".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum NanPolicy {
    /// Stop with an error naming the cell.
    #[default]
    Error,
    /// Linear interpolation across each gap; leading and trailing gaps take the nearest
    /// known sample. A row with no known sample at all is an error.
    Fill,
    /// Skip every row that has a missing sample (the count is in [`ReadReport`]).
    Drop,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    pub nan: NanPolicy,
}

/// What reading did besides returning rows: the CLI tells the user about drops and fills.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadReport {
    /// The header's cells (label column included), if the file has a header.
    pub header: Option<Vec<String>>,
    /// Rows skipped by [`NanPolicy::Drop`].
    pub dropped_rows: usize,
    /// Samples interpolated by [`NanPolicy::Fill`].
    pub filled_cells: usize,
}

/// Reads a labelled light-curve CSV. Use [`read_csv_report`] to learn how many rows
/// `NanPolicy::Drop` skipped or how many cells `NanPolicy::Fill` interpolated.
pub fn read_csv(path: &Path, opts: &ReadOptions) -> Result<Dataset, DataError> {
    read_csv_report(path, opts).map(|(dataset, _)| dataset)
}

/// Reads a labelled light-curve CSV and reports what the NaN policy changed.
pub fn read_csv_report(path: &Path, opts: &ReadOptions) -> Result<(Dataset, ReadReport), DataError> {
    read_csv_with_room(path, opts, 1)
}

/// Reads like [`read_csv_report`], and reserves room in the returned data set's buffer for
/// `channels` series per row, so that [`Preprocess::apply_owned`] turns it into network
/// input without a second copy of the data.
///
/// The file is streamed one record at a time into one f32 matrix; its text is never held.
/// Memory: the matrix's capacity, `4 * channels * len * min(lines, file bytes / len)`
/// bytes (`lines` counts line ends, so it is at least the number of rows), plus the csv
/// buffer and one record. Pipes and other files that cannot be measured first grow the
/// matrix as rows arrive instead (at most twice the final size while reading).
///
/// [`Preprocess::apply_owned`]: super::Preprocess::apply_owned
pub fn read_csv_with_room(
    path: &Path,
    opts: &ReadOptions,
    channels: usize,
) -> Result<(Dataset, ReadReport), DataError> {
    let name = path.display().to_string();
    let unreadable = |source| DataError::Unreadable { path: name.clone(), source };
    let (mut file, meta) = open(path, &name)?;
    let capacity = if meta.is_file() {
        let lines = count_line_ends(&mut file).map_err(unreadable)? + 1;
        file.seek(SeekFrom::Start(0)).map_err(unreadable)?;
        // A sample takes at least one byte (its delimiter): the bound for files whose
        // first row promises more cells than the rest of the file could hold.
        Capacity { lines, cells: usize::try_from(meta.len()).unwrap_or(usize::MAX) }
    } else {
        Capacity { lines: 0, cells: 0 }
    };
    // csv::Reader buffers the file itself (a BufReader of this capacity) and skips a
    // leading UTF-8 byte-order mark.
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        // Ragged rows are reported by `Table::push_row`, with the expected width.
        .flexible(true)
        .buffer_capacity(1 << 18)
        .from_reader(file);
    parse(reader, name, opts.nan, Room { capacity, channels: channels.max(1) })
}

/// Opens a file for reading after the checks that give the user a precise message.
fn open(path: &Path, name: &str) -> Result<(File, std::fs::Metadata), DataError> {
    let unreadable = |source| DataError::Unreadable { path: name.to_string(), source };
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(DataError::NotFound { path: name.to_string() })
        }
        Err(e) => Err(unreadable(e)),
        Ok(meta) if meta.is_dir() => Err(DataError::IsDirectory { path: name.to_string() }),
        Ok(meta) => Ok((File::open(path).map_err(unreadable)?, meta)),
    }
}

/// The whole file in memory, after the same checks as [`read_csv`] (for small tables).
pub(crate) fn read_bytes(path: &Path, name: &str) -> Result<Vec<u8>, DataError> {
    let (mut file, _) = open(path, name)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|source| DataError::Unreadable { path: name.to_string(), source })?;
    Ok(bytes)
}

/// The number of line ends, as csv counts them: `\n`, `\r\n` or a lone `\r`. Taking the
/// larger of the `\n` and `\r` counts is exact for files that use one convention and
/// low for files that mix LF with lone CR (then the matrix grows as it fills).
fn count_line_ends(file: &mut File) -> std::io::Result<usize> {
    let mut buffer = vec![0u8; 1 << 18];
    let (mut lf, mut cr) = (0usize, 0usize);
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => return Ok(lf.max(cr)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for &b in &buffer[..n] {
            lf += usize::from(b == b'\n');
            cr += usize::from(b == b'\r');
        }
    }
}

/// How much of the matrix to allocate up front (0 for nothing): at most `lines` rows and
/// `cells` samples.
#[derive(Clone, Copy)]
struct Capacity {
    lines: usize,
    cells: usize,
}

/// Space to reserve: `capacity` rows of `channels` series each.
#[derive(Clone, Copy)]
struct Room {
    capacity: Capacity,
    channels: usize,
}

/// The rows read so far and the width every row must have.
struct Table {
    path: String,
    policy: NanPolicy,
    header: Option<Vec<String>>,
    /// Column count of the first row (header or data), and which line that was.
    width: usize,
    width_from: String,
    labels: Vec<Label>,
    values: Vec<f32>,
    channels: usize,
    report: ReadReport,
}

fn parse(
    mut reader: csv::Reader<File>,
    path: String,
    policy: NanPolicy,
    room: Room,
) -> Result<(Dataset, ReadReport), DataError> {
    let mut record = csv::ByteRecord::new();
    let mut table: Option<Table> = None;
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| DataError::Unreadable { path: path.clone(), source: e.into() })?;
        if !more {
            break;
        }
        if is_blank(&record) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line());
        match table.as_mut() {
            Some(t) => t.push_row(&record, line)?,
            None => table = Some(Table::start(&record, line, path.clone(), policy, room)?),
        }
    }
    match table {
        None => Err(DataError::Empty { path }),
        Some(t) => t.finish(),
    }
}

/// A line holding nothing but whitespace (csv itself skips truly empty lines).
fn is_blank(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record[0].trim_ascii().is_empty()
}

impl Table {
    /// Begins a table at the first non-blank row: a header or the first data row
    /// ([`is_header`]).
    fn start(
        record: &csv::ByteRecord,
        line: u64,
        path: String,
        policy: NanPolicy,
        room: Room,
    ) -> Result<Table, DataError> {
        let is_header = is_header(record);
        let mut table = Table {
            path,
            policy,
            header: None,
            width: record.len(),
            width_from: String::new(),
            labels: Vec::new(),
            values: Vec::new(),
            channels: room.channels,
            report: ReadReport::default(),
        };
        // One allocation at the final size, instead of doubling (which may hold twice the
        // data). If the allocator refuses it (a wide first row over many short lines
        // promises more than a valid file can hold), the matrix grows as rows arrive.
        let len = table.width.saturating_sub(1).max(1);
        let Capacity { lines, cells } = room.capacity;
        let rows = lines.min(cells / len);
        let _ = table.labels.try_reserve_exact(rows);
        let _ = table.values.try_reserve_exact(rows.saturating_mul(len).saturating_mul(room.channels));
        if is_header {
            let names: Vec<String> =
                record.iter().map(|cell| String::from_utf8_lossy(cell.trim_ascii()).into_owned()).collect();
            table.width_from = format!("the header (line {line})");
            table.report.header = Some(names.clone());
            table.header = Some(names);
        } else {
            table.width_from = format!("line {line} (the first row)");
            table.push_row(record, line)?;
        }
        Ok(table)
    }

    fn column(&self, index0: usize) -> Column {
        Column { index: index0 + 1, name: self.header.as_ref().and_then(|h| h.get(index0).cloned()) }
    }

    fn push_row(&mut self, record: &csv::ByteRecord, line: u64) -> Result<(), DataError> {
        if record.len() == 1 {
            return Err(DataError::NoSamples { path: self.path.clone(), line });
        }
        if record.len() != self.width {
            return Err(DataError::Ragged {
                path: self.path.clone(),
                line,
                expected: self.width,
                found: record.len(),
                expected_from: self.width_from.clone(),
            });
        }
        let label = parse_label(&record[0]).ok_or_else(|| DataError::BadLabel {
            path: self.path.clone(),
            line,
            text: lossy(&record[0]),
        })?;
        let start = self.values.len();
        let mut missing = false;
        for (j, cell) in record.iter().enumerate().skip(1) {
            let value = match parse_sample(cell) {
                Ok(v) => v,
                Err(problem) => {
                    self.tolerate(problem, line, j)?;
                    missing = true;
                    f32::NAN
                }
            };
            self.values.push(value);
        }
        // `tolerate` lets missing cells through only under Fill or Drop.
        if missing && self.policy == NanPolicy::Drop {
            self.values.truncate(start);
            self.report.dropped_rows += 1;
            return Ok(());
        }
        if missing {
            self.report.filled_cells += fill_gaps(&mut self.values[start..])
                .ok_or(DataError::AllMissing { path: self.path.clone(), line })?;
        }
        self.labels.push(label);
        Ok(())
    }

    /// Accepts a missing sample when the policy allows it; anything else is an error.
    fn tolerate(&self, problem: CellProblem, line: u64, index0: usize) -> Result<(), DataError> {
        let path = self.path.clone();
        let column = self.column(index0);
        match problem {
            CellProblem::Missing(_) if self.policy != NanPolicy::Error => Ok(()),
            CellProblem::Missing(what) => Err(DataError::Missing { path, line, column, what }),
            CellProblem::NotNumeric(text) => Err(DataError::NotNumeric { path, line, column, text }),
            CellProblem::OutOfRange(text) => Err(DataError::OutOfRange { path, line, column, text }),
        }
    }

    fn finish(self) -> Result<(Dataset, ReadReport), DataError> {
        if self.labels.is_empty() {
            return Err(if self.report.dropped_rows > 0 {
                DataError::AllDropped { path: self.path, dropped: self.report.dropped_rows }
            } else {
                DataError::NoRows { path: self.path }
            });
        }
        let len = self.width - 1;
        let (mut labels, mut values) = (self.labels, self.values);
        // Rows that were not there after all (header, blank lines, dropped rows) give
        // their space back; the room for the prepared channels stays.
        labels.shrink_to_fit();
        values.shrink_to(labels.len() * len * self.channels);
        let dataset = Dataset { source: self.path, labels, values, len };
        Ok((dataset, self.report))
    }
}

/// A first row is a header when its first cell is no number and either a sample cell is
/// text that is no number ("FLUX.1") or the first cell names a label column ("LABEL",
/// "class"); a row such as `ab,0.5,0.7` is data with a named class.
fn is_header(record: &csv::ByteRecord) -> bool {
    let first = lossy(&record[0]);
    if first.parse::<f64>().is_ok() {
        return false;
    }
    let names_the_column =
        ["label", "class", "target", "type"].contains(&first.to_ascii_lowercase().as_str());
    names_the_column
        || record.iter().skip(1).any(|c| matches!(parse_sample(c), Err(CellProblem::NotNumeric(_))))
}

/// The cell's text without surrounding whitespace, if it is UTF-8.
fn cell_str(cell: &[u8]) -> Option<&str> {
    std::str::from_utf8(cell.trim_ascii()).ok()
}

fn lossy(cell: &[u8]) -> String {
    String::from_utf8_lossy(cell.trim_ascii()).into_owned()
}

fn parse_label(cell: &[u8]) -> Option<Label> {
    Label::parse(cell_str(cell)?)
}

enum CellProblem {
    /// Empty, NaN, inf or a missing-value marker; says which, for the message.
    Missing(String),
    NotNumeric(String),
    OutOfRange(String),
}

/// Markers other tools write for a missing value (R writes NA; databases null).
const MISSING_MARKERS: [&str; 4] = ["na", "n/a", "null", "none"];

fn parse_sample(cell: &[u8]) -> Result<f32, CellProblem> {
    let trimmed = cell.trim_ascii();
    if trimmed.is_empty() {
        return Err(CellProblem::Missing("the cell is empty".to_string()));
    }
    let Some(text) = std::str::from_utf8(trimmed).ok() else {
        return Err(CellProblem::NotNumeric(lossy(trimmed)));
    };
    match text.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        // Rust parses "inf"/"infinity"/"nan" in any case; without those letters an
        // infinite result means the number overflowed f32.
        Ok(v) if v.is_infinite() && !text.to_ascii_lowercase().contains("inf") => {
            Err(CellProblem::OutOfRange(text.to_string()))
        }
        Ok(_) => Err(CellProblem::Missing(format!("\"{text}\" is not a finite number"))),
        Err(_) if MISSING_MARKERS.contains(&text.to_ascii_lowercase().as_str()) => {
            Err(CellProblem::Missing(format!("\"{text}\" marks a missing value")))
        }
        Err(_) => Err(CellProblem::NotNumeric(text.to_string())),
    }
}

/// Replaces NaNs by linear interpolation between the nearest known samples on either
/// side; a leading or trailing gap takes the one known neighbour. Returns the number of
/// samples filled, or `None` when no sample is known.
fn fill_gaps(row: &mut [f32]) -> Option<usize> {
    let first = row.iter().position(|v| !v.is_nan())?;
    let mut filled = first;
    let first_value = row[first];
    row[..first].fill(first_value);
    let mut last_known = first;
    for i in first + 1..row.len() {
        if row[i].is_nan() {
            continue;
        }
        let gap = i - last_known;
        if gap > 1 {
            let (a, b) = (f64::from(row[last_known]), f64::from(row[i]));
            for k in 1..gap {
                let t = k as f64 / gap as f64;
                row[last_known + k] = (a + (b - a) * t) as f32;
            }
            filled += gap - 1;
        }
        last_known = i;
    }
    let last_value = row[last_known];
    filled += row.len() - 1 - last_known;
    row[last_known + 1..].fill(last_value);
    Some(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_gaps_interpolates_inside_and_extends_edges() {
        let nan = f32::NAN;
        let mut row = [nan, nan, 2.0, nan, nan, 8.0, -1.0, nan];
        assert_eq!(fill_gaps(&mut row), Some(5));
        assert_eq!(row, [2.0, 2.0, 2.0, 4.0, 6.0, 8.0, -1.0, -1.0]);
        assert_eq!(fill_gaps(&mut [nan, nan]), None);
    }

    #[test]
    fn labels_are_integers_or_names_never_fractions() {
        assert_eq!(parse_label(b" -3 "), Some(Label::Int(-3)));
        assert_eq!(parse_label(b"2.0"), Some(Label::Int(2)));
        assert_eq!(parse_label(b" ab "), Some(Label::Name("ab".into())));
        assert_eq!(parse_label(b"2.5"), None);
        assert_eq!(parse_label(b"nan"), None);
        assert_eq!(parse_label(b""), None);
    }

    #[test]
    fn a_named_first_row_is_data_unless_it_looks_like_a_header() {
        let row = |cells: &[&str]| csv::ByteRecord::from(cells.to_vec());
        assert!(!is_header(&row(&["ab", "0.5", "nan", "1"])));
        assert!(is_header(&row(&["LABEL", "FLUX.1", "FLUX.2"])));
        assert!(is_header(&row(&["class", "1", "2"])));
        assert!(!is_header(&row(&["2", "FLUX.1"])));
    }
}
