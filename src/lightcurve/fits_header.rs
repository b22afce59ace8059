//! The FITS container (FITS 4.0, sections 3-4): a file is a sequence of header-data units,
//! each a header of 80-byte cards ending in END, padded to 2,880 bytes, then its data,
//! padded likewise. This walks the units and reads their cards' values; what the data
//! mean is the caller's business.
//!
//! Every length comes from the file, so every step is checked: a header cut short, a data
//! unit longer than the file or sizes that overflow are errors, never a panic or an
//! allocation the file's size does not bound.

use std::collections::HashMap;

const BLOCK: u64 = 2880;
const CARD: usize = 80;

/// A header card's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// One header-data unit: its keywords and where its data lie in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Hdu {
    pub index: usize,
    pub values: HashMap<String, Value>,
    pub data_start: u64,
    pub data_len: u64,
}

/// Why a unit could not be read.
#[derive(Clone, Debug, PartialEq)]
pub enum HeaderError {
    /// The file ends inside unit `index`'s header.
    Truncated { index: usize },
    /// Unit `index`'s header breaks the standard.
    Invalid { index: usize, what: String },
}

impl Hdu {
    pub fn string(&self, key: &str) -> Option<String> {
        match self.values.get(key)? {
            Value::Str(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Value::Int(v) => Some(v.to_string()),
            Value::Float(v) => Some(v.to_string()),
            Value::Bool(_) => None,
        }
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        match self.values.get(key)? {
            Value::Int(v) => Some(*v),
            Value::Float(v) if v.fract() == 0.0 && v.abs() < 9e15 => Some(*v as i64),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn float(&self, key: &str) -> Option<f64> {
        match self.values.get(key)? {
            Value::Int(v) => Some(*v as f64),
            Value::Float(v) => Some(*v),
            _ => None,
        }
        .filter(|v| v.is_finite())
    }

    /// Its EXTNAME, or "extension N".
    pub fn name(&self) -> String {
        self.string("EXTNAME").unwrap_or_else(|| format!("extension {}", self.index))
    }
}

/// The units of `bytes`, in order; after the first error there are no more.
pub fn units(bytes: &[u8]) -> Units<'_> {
    Units { bytes, offset: 0, index: 0, failed: false }
}

pub struct Units<'a> {
    bytes: &'a [u8],
    offset: u64,
    index: usize,
    failed: bool,
}

impl Iterator for Units<'_> {
    type Item = Result<Hdu, HeaderError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset >= self.bytes.len() as u64 {
            return None;
        }
        let unit = read_unit(self.bytes, self.offset, self.index);
        match &unit {
            Ok(hdu) => {
                let padded = hdu.data_len.div_ceil(BLOCK).saturating_mul(BLOCK);
                self.offset = hdu.data_start.saturating_add(padded);
                self.index += 1;
            }
            Err(_) => self.failed = true,
        }
        Some(unit)
    }
}

fn read_unit(bytes: &[u8], start: u64, index: usize) -> Result<Hdu, HeaderError> {
    let invalid = |what: String| HeaderError::Invalid { index, what };
    let mut values = HashMap::new();
    let mut at = start as usize;
    loop {
        let Some(card) = bytes.get(at..at + CARD) else {
            return Err(HeaderError::Truncated { index });
        };
        at += CARD;
        let keyword = String::from_utf8_lossy(&card[..8]).trim_end().to_string();
        if at - CARD == start as usize {
            let expected = if index == 0 { "SIMPLE" } else { "XTENSION" };
            if keyword != expected {
                return Err(invalid(format!("its first card is \"{keyword}\", not {expected}")));
            }
        }
        if keyword == "END" {
            break;
        }
        if &card[8..10] == b"= " {
            if let Some(value) =
                parse_value(&card[10..]).map_err(|what| invalid(format!("card {keyword}: {what}")))?
            {
                values.insert(keyword, value);
            }
        }
    }
    let data_start = (at as u64).div_ceil(BLOCK) * BLOCK;
    let hdu = Hdu { index, values, data_start, data_len: 0 };
    let data_len = data_size(&hdu)
        .ok_or_else(|| invalid("BITPIX, NAXISn, PCOUNT or GCOUNT is missing or out of range".into()))?;
    Ok(Hdu { data_len, ..hdu })
}

/// |BITPIX| / 8 x GCOUNT x (PCOUNT + NAXIS1 x ... x NAXISn) bytes (FITS 4.0, 4.4.1.1 and
/// 7.1.1), zero without axes.
fn data_size(hdu: &Hdu) -> Option<u64> {
    let count = |key: &str| hdu.int(key).and_then(|v| u64::try_from(v).ok());
    let bits = hdu.int("BITPIX")?.unsigned_abs();
    let axes = count("NAXIS")?;
    if axes == 0 || axes > 999 {
        return (axes == 0).then_some(0);
    }
    let mut elements: u64 = 1;
    for i in 1..=axes {
        elements = elements.checked_mul(count(&format!("NAXIS{i}"))?)?;
    }
    let pcount = if hdu.values.contains_key("PCOUNT") { count("PCOUNT")? } else { 0 };
    let gcount = if hdu.values.contains_key("GCOUNT") { count("GCOUNT")? } else { 1 };
    (bits / 8).checked_mul(gcount)?.checked_mul(elements.checked_add(pcount)?)
}

/// A card's value field (bytes 11-80): a quoted string ('' is a quote), T or F, an
/// integer or a real (with E or D exponent); `None` for an empty or undefined value.
fn parse_value(field: &[u8]) -> Result<Option<Value>, String> {
    let text = String::from_utf8_lossy(field);
    let text = text.trim_start();
    if let Some(rest) = text.strip_prefix('\'') {
        let mut value = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                } else {
                    return Ok(Some(Value::Str(value.trim_end().to_string())));
                }
            }
            value.push(c);
        }
        return Err("the string has no closing quote".into());
    }
    let token = text.split('/').next().unwrap_or("").trim();
    Ok(match token {
        "" => None,
        "T" => Some(Value::Bool(true)),
        "F" => Some(Value::Bool(false)),
        _ => match token.parse::<i64>() {
            Ok(v) => Some(Value::Int(v)),
            Err(_) => token.replace(['D', 'd'], "E").parse::<f64>().ok().map(Value::Float),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cards: &[&str]) -> Vec<u8> {
        let mut text: String = cards.iter().map(|c| format!("{c:<80}")).collect();
        text.push_str(&format!("{:<80}", "END"));
        let mut bytes = text.into_bytes();
        bytes.resize(bytes.len().div_ceil(2880) * 2880, b' ');
        bytes
    }

    #[test]
    fn reads_values_of_every_kind() {
        let bytes = header(&[
            "SIMPLE  =                    T / conforms",
            "BITPIX  =                    8",
            "NAXIS   =                    0",
            "OBJECT  = 'KIC 11442793'       / target",
            "QUOTE   = 'it''s'",
            "RA_OBJ  =           284.433491",
            "BIG     =              1.5D+03",
            "BLANK   =                      / undefined",
        ]);
        let hdus: Vec<_> = units(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(hdus.len(), 1);
        let h = &hdus[0];
        assert_eq!(
            (h.string("OBJECT").unwrap(), h.string("QUOTE").unwrap()),
            ("KIC 11442793".into(), "it's".into())
        );
        assert_eq!(
            (h.float("RA_OBJ"), h.float("BIG"), h.int("NAXIS")),
            (Some(284.433491), Some(1500.0), Some(0))
        );
        assert_eq!((h.values.get("SIMPLE"), h.values.get("BLANK")), (Some(&Value::Bool(true)), None));
        assert_eq!((h.data_start, h.data_len), (2880, 0));
    }

    #[test]
    fn a_lone_quote_or_a_cut_header_is_an_error() {
        let bytes = header(&["SIMPLE  =                    T", "OBJECT  = '"]);
        assert!(matches!(units(&bytes).next(), Some(Err(HeaderError::Invalid { index: 0, .. }))));
        let bytes = header(&[
            "SIMPLE  =                    T",
            "BITPIX  =                    8",
            "NAXIS   =                    0",
        ]);
        assert_eq!(units(&bytes[..100]).next(), Some(Err(HeaderError::Truncated { index: 0 })));
    }

    #[test]
    fn data_sizes_overflowing_are_errors() {
        let bytes = header(&[
            "SIMPLE  =                    T",
            "BITPIX  =                  -64",
            "NAXIS   =                    2",
            "NAXIS1  =  9223372036854775807",
            "NAXIS2  =  9223372036854775807",
        ]);
        assert!(matches!(units(&bytes).next(), Some(Err(HeaderError::Invalid { .. }))));
    }
}
