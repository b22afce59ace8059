//! Label tables of per-object data sets: one row per object, an id column and a class
//! column, found by name (`object_id,label` in a data set's own `labels.csv`; catalogues
//! such as `Num,Type,Per` or `ZTFID,...,type` name them otherwise, so the names can be
//! given or are recognized from [`ID_NAMES`] and [`LABEL_NAMES`]). Other columns are
//! ignored: a catalogue's period is never a feature.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::data::label::csv_cell;
use crate::data::Label;

use super::error::SurveyError;
use super::table::{read_table, Schema};

/// Header names recognized as the object id column, in order of preference.
pub const ID_NAMES: [&str; 6] = ["object_id", "id", "num", "ztfid", "oid", "name"];
/// Header names recognized as the class column, in order of preference.
pub const LABEL_NAMES: [&str; 5] = ["label", "target", "class", "type", "subtype"];

/// Which columns hold the id and the class; None: recognized by name.
#[derive(Clone, Debug, Default)]
pub struct LabelColumns {
    pub id: Option<String>,
    pub label: Option<String>,
}

/// Object ids with their classes, in the table's order, and the line each came from.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelTable {
    pub path: String,
    pub ids: Vec<String>,
    pub labels: Vec<Label>,
    pub lines: Vec<u64>,
}

impl LabelTable {
    pub fn read(path: &Path, columns: &LabelColumns) -> Result<LabelTable, SurveyError> {
        let id_names: Vec<&str> = columns.id.as_deref().map_or(ID_NAMES.to_vec(), |c| vec![c]);
        let label_names: Vec<&str> = columns.label.as_deref().map_or(LABEL_NAMES.to_vec(), |c| vec![c]);
        let required: [&[&str]; 2] = [&id_names, &label_names];
        let schema = Schema { what: "labels", required: &required, optional: &[] };
        let mut table = LabelTable {
            path: path.display().to_string(),
            ids: Vec::new(),
            labels: Vec::new(),
            lines: Vec::new(),
        };
        let mut seen: HashMap<String, u64> = HashMap::new();
        read_table(path, &schema, |row, cols| {
            let id = row.text(cols.required[0]);
            if id.is_empty() {
                return Err(row.bad(
                    cols.required[0],
                    "is not an object id",
                    "Every row needs the object's id.",
                ));
            }
            if let Some(&first_line) = seen.get(&id) {
                return Err(SurveyError::DuplicateLabel {
                    path: row.path.to_string(),
                    line: row.line,
                    object_id: id,
                    first_line,
                });
            }
            seen.insert(id.clone(), row.line);
            table.labels.push(row.label(cols.required[1])?);
            table.ids.push(id);
            table.lines.push(row.line);
            Ok(())
        })?;
        if table.ids.is_empty() {
            return Err(SurveyError::Empty {
                path: table.path,
                expected: "object_id,label".into(),
                what: "object".into(),
            });
        }
        Ok(table)
    }

    /// The rows whose indices are given, in that order.
    pub fn subset(&self, rows: &[usize]) -> LabelTable {
        LabelTable {
            path: self.path.clone(),
            ids: rows.iter().map(|&r| self.ids[r].clone()).collect(),
            labels: rows.iter().map(|&r| self.labels[r].clone()).collect(),
            lines: rows.iter().map(|&r| self.lines[r]).collect(),
        }
    }

    /// `object_id,label` lines, written atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut text = String::from("object_id,label\n");
        for (id, label) in self.ids.iter().zip(&self.labels) {
            let _ = writeln!(text, "{},{}", csv_cell(id), label.csv_cell());
        }
        crate::model::checkpoint::write_atomically(path, text.as_bytes())
    }
}
