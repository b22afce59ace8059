//! Header-addressed CSV reading for the survey files: columns are found by name, in any
//! order, and every cell problem becomes a [`SurveyError`] naming file, line and column.

use std::path::Path;

use crate::data::csv_reader::read_bytes;
use crate::data::error::Column;
use crate::data::Label;

use super::error::{BadCell, SurveyError};

/// One kind of survey file: what it is called in messages and the columns it needs.
pub struct Schema<'a> {
    /// "observations" or "metadata".
    pub what: &'static str,
    /// Required columns; each entry lists accepted names, the first being the canonical one.
    pub required: &'a [&'a [&'a str]],
    pub optional: &'a [&'a str],
}

/// A data row, with what is needed to name a bad cell.
pub struct Row<'a> {
    pub path: &'a str,
    pub line: u64,
    header: &'a [String],
    record: &'a csv::ByteRecord,
}

/// Where each schema column sits in the file: `required[i]`, then `optional[j]` (None if absent).
pub struct Columns {
    pub required: Vec<usize>,
    pub optional: Vec<Option<usize>>,
}

/// Reads `path`, locating the schema's columns in its header, and calls `each` per data row.
pub fn read_table(
    path: &Path,
    schema: &Schema,
    mut each: impl FnMut(&Row, &Columns) -> Result<(), SurveyError>,
) -> Result<(), SurveyError> {
    let name = path.display().to_string();
    let bytes = read_bytes(path, &name)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(&bytes[..]);
    let mut record = csv::ByteRecord::new();
    let mut header: Option<(Vec<String>, Columns)> = None;
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            SurveyError::File(crate::data::DataError::Unreadable { path: name.clone(), source: e.into() })
        })?;
        if !more {
            break;
        }
        if record.len() == 1 && record[0].trim_ascii().is_empty() {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line());
        match &header {
            None => {
                let names: Vec<String> =
                    record.iter().map(|c| String::from_utf8_lossy(c.trim_ascii()).into_owned()).collect();
                let columns = locate(&names, schema, &name)?;
                header = Some((names, columns));
            }
            Some((names, columns)) => {
                if record.len() != names.len() {
                    return Err(SurveyError::Ragged {
                        path: name,
                        line,
                        expected: names.len(),
                        found: record.len(),
                    });
                }
                each(&Row { path: &name, line, header: names, record: &record }, columns)?;
            }
        }
    }
    if header.is_none() {
        return Err(SurveyError::Empty { path: name, expected: expected(schema), what: schema.what.into() });
    }
    Ok(())
}

fn expected(schema: &Schema) -> String {
    schema.required.iter().map(|names| names[0]).collect::<Vec<_>>().join(",")
}

fn locate(names: &[String], schema: &Schema, path: &str) -> Result<Columns, SurveyError> {
    let find =
        |aliases: &[&str]| names.iter().position(|n| aliases.iter().any(|a| n.eq_ignore_ascii_case(a)));
    let mut required = Vec::new();
    for aliases in schema.required {
        let index = find(aliases).ok_or_else(|| SurveyError::MissingColumn {
            path: path.to_string(),
            column: aliases.join("\" or \""),
            found: names.join(","),
            expected: expected(schema),
            what: schema.what,
        })?;
        required.push(index);
    }
    let optional = schema.optional.iter().map(|name| find(&[name])).collect();
    Ok(Columns { required, optional })
}

/// Markers other tools write for a missing value (pandas writes an empty cell or "nan").
const MISSING: [&str; 6] = ["", "nan", "na", "n/a", "null", "none"];

impl Row<'_> {
    pub fn text(&self, index: usize) -> String {
        String::from_utf8_lossy(self.record[index].trim_ascii()).into_owned()
    }

    pub fn is_missing(&self, index: usize) -> bool {
        MISSING.contains(&self.text(index).to_ascii_lowercase().as_str())
    }

    /// An error about cell `index`: `problem` follows the quoted cell text.
    pub fn bad(&self, index: usize, problem: &'static str, fix: &'static str) -> SurveyError {
        SurveyError::BadCell(Box::new(BadCell {
            path: self.path.to_string(),
            line: self.line,
            column: Column { index: index + 1, name: self.header.get(index).cloned() },
            text: self.text(index),
            problem,
            fix,
        }))
    }

    /// A finite number.
    pub fn number(&self, index: usize) -> Result<f64, SurveyError> {
        match self.text(index).parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            Ok(_) => {
                Err(self.bad(index, "is not a finite number", "Every cell of this column needs a value."))
            }
            Err(_) => Err(self.bad(index, "is not a number", "Write a decimal number such as 12.5.")),
        }
    }

    /// A number, or NaN for an empty or missing-value cell.
    pub fn number_or_missing(&self, index: usize) -> Result<f64, SurveyError> {
        if self.is_missing(index) {
            return Ok(f64::NAN);
        }
        self.number(index)
    }

    /// An integer, also when written as a float with no fractional part ("92.0").
    pub fn integer(&self, index: usize) -> Result<i64, SurveyError> {
        let text = self.text(index);
        let parsed = text.parse::<i64>().ok().or_else(|| {
            let x = text.parse::<f64>().ok()?;
            (x.is_finite() && x.fract() == 0.0 && x.abs() <= 9.0e15).then_some(x as i64)
        });
        parsed.ok_or_else(|| self.bad(index, "is not an integer", "Write a whole number such as 615."))
    }

    /// A class label: an integer or a name ([`Label::parse`]).
    pub fn label(&self, index: usize) -> Result<Label, SurveyError> {
        Label::parse(&self.text(index)).ok_or_else(|| {
            self.bad(index, "is not a class label", "Write an integer such as 90 or a name such as SN Ia.")
        })
    }

    /// 0/1, or true/false in any case (pandas writes booleans as True/False).
    pub fn flag(&self, index: usize) -> Result<bool, SurveyError> {
        match self.text(index).to_ascii_lowercase().as_str() {
            "1" | "1.0" | "true" => Ok(true),
            "0" | "0.0" | "false" => Ok(false),
            _ => Err(self.bad(index, "is not a flag", "Write 1 or 0 (True or False also work).")),
        }
    }
}
