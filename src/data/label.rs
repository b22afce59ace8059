//! A class label as a catalogue or a CSV writes it: an integer (Kaggle's 1 and 2, UCR's
//! -1 and 1, PLAsTiCC's 90) or a name ("ab", "SN Ia-91T").
//!
//! Integers sort numerically and before names, names by their bytes, so a model's class
//! list is the same ascending list it always was for integer labels. In JSON an integer
//! label is a number and a name a string: checkpoints and metrics.json written before
//! names existed read back unchanged.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Label {
    Int(i64),
    Name(String),
}

/// Cells that mean "no value" in other tools' CSVs, never a class.
const MISSING: [&str; 6] = ["", "nan", "na", "n/a", "null", "none"];

impl Label {
    /// The label a cell holds: an integer, also written as a float with no fractional part
    /// ("2.0", as pandas writes an integer column that once held a NaN); otherwise a name.
    /// None for an empty or missing-value cell and for any other number ("2.5", "inf"):
    /// a fractional first column is a sample, not a class (a file without labels).
    pub fn parse(text: &str) -> Option<Label> {
        let s = text.trim();
        if let Ok(i) = s.parse::<i64>() {
            return Some(Label::Int(i));
        }
        if MISSING.contains(&s.to_ascii_lowercase().as_str()) {
            return None;
        }
        match s.parse::<f64>() {
            // Beyond 2^53 a float no longer holds every integer, so "integral" means nothing there.
            Ok(x) if x.is_finite() && x.fract() == 0.0 && x.abs() <= 9_007_199_254_740_992.0 => {
                Some(Label::Int(x as i64))
            }
            Ok(_) => None,
            Err(_) => Some(Label::Name(s.to_string())),
        }
    }

    /// The label as one CSV cell (see [`csv_cell`]).
    pub fn csv_cell(&self) -> String {
        csv_cell(&self.to_string())
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Int(i) => write!(f, "{i}"),
            Label::Name(s) => f.write_str(s),
        }
    }
}

impl From<i64> for Label {
    fn from(i: i64) -> Label {
        Label::Int(i)
    }
}

/// `label == 2` reads as it says: an integer label equal to 2 (never a name).
impl PartialEq<i64> for Label {
    fn eq(&self, other: &i64) -> bool {
        *self == Label::Int(*other)
    }
}

impl PartialEq<Label> for i64 {
    fn eq(&self, other: &Label) -> bool {
        other == self
    }
}

impl From<&str> for Label {
    fn from(s: &str) -> Label {
        Label::parse(s).unwrap_or_else(|| Label::Name(s.to_string()))
    }
}

impl FromStr for Label {
    type Err = String;

    fn from_str(s: &str) -> Result<Label, String> {
        Label::parse(s).ok_or_else(|| format!("\"{s}\" is not a class label: give an integer or a name"))
    }
}

/// `text` as one CSV cell: quoted when it holds a comma, a quote or a line end.
pub fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Integer labels, e.g. a model's classes `[1, 2]`.
pub fn ints(values: &[i64]) -> Vec<Label> {
    values.iter().map(|&i| Label::Int(i)).collect()
}

/// Labels as a user reads them: "1, 2, 3" or "ab, c".
pub fn label_list(labels: &[Label]) -> String {
    labels.iter().map(Label::to_string).collect::<Vec<_>>().join(", ")
}

/// The distinct labels, ascending: class k of a model is the k-th.
pub fn distinct(labels: &[Label]) -> Vec<Label> {
    let mut c = labels.to_vec();
    c.sort_unstable();
    c.dedup();
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_names_and_what_is_neither() {
        assert_eq!(Label::parse(" -3 "), Some(Label::Int(-3)));
        assert_eq!(Label::parse("2.0"), Some(Label::Int(2)));
        assert_eq!(Label::parse("SN Ia-91T"), Some(Label::Name("SN Ia-91T".into())));
        for bad in ["2.5", "nan", "", "NA", "inf", "1e400"] {
            assert_eq!(Label::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn integers_sort_numerically_before_names() {
        let labels: Vec<Label> = ["c", "10", "ab", "2", "-1"].into_iter().map(Label::from).collect();
        assert_eq!(label_list(&distinct(&labels)), "-1, 2, 10, ab, c");
    }

    #[test]
    fn json_keeps_integers_numbers() {
        let labels = vec![Label::Int(1), Label::Name("ab".into())];
        let json = serde_json::to_string(&labels).unwrap();
        assert_eq!(json, r#"[1,"ab"]"#);
        assert_eq!(serde_json::from_str::<Vec<Label>>("[1, 2]").unwrap(), vec![Label::Int(1), Label::Int(2)]);
        assert_eq!(serde_json::from_str::<Vec<Label>>(&json).unwrap(), labels);
    }

    #[test]
    fn csv_cells_are_quoted_when_needed() {
        assert_eq!(Label::from("SN Ia").csv_cell(), "SN Ia");
        assert_eq!(Label::Name("a,\"b\"".into()).csv_cell(), "\"a,\"\"b\"\"\"");
    }
}
