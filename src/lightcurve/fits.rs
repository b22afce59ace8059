//! MAST light-curve FITS files: Kepler and K2 `*llc.fits`, TESS SPOC `*lc.fits`.
//!
//! Such a file is a primary header (the target's KEPLERID or TICID, OBJECT, MISSION or
//! TELESCOP, QUARTER/CAMPAIGN/SECTOR) and a binary table extension named LIGHTCURVE, one
//! row per cadence: TIME (BKJD or BTJD, days), SAP_FLUX and PDCSAP_FLUX with their _ERR
//! columns, and QUALITY (SAP_QUALITY in Kepler's older files), then an aperture image.
//!
//! `fitsrs` walks the container: 2,880-byte blocks, header cards (quoted strings, CONTINUE)
//! and the extensions' offsets. The few columns wanted are then decoded here straight from
//! the table's fixed-width big-endian rows, after checking that the rows are all in the
//! file: fitsrs's cell iterator yields a tagged value per cell and simply stops early on a
//! short file, where a truncated download must be an error.

use std::io::Cursor;

use fitsrs::card::Value;
use fitsrs::hdu::header::ValueMap;
use fitsrs::{Fits, HDU};

use super::{LightCurveError, RawPart, Source};

/// Which of a MAST file's flux columns to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FluxColumn {
    /// PDCSAP_FLUX: the pipeline's flux with instrumental trends removed (the default,
    /// as in lightkurve).
    #[default]
    Pdcsap,
    /// SAP_FLUX: simple aperture photometry, trends kept.
    Sap,
}

impl FluxColumn {
    pub fn name(self) -> &'static str {
        match self {
            FluxColumn::Pdcsap => "PDCSAP_FLUX",
            FluxColumn::Sap => "SAP_FLUX",
        }
    }

    fn other(self) -> Self {
        match self {
            FluxColumn::Pdcsap => FluxColumn::Sap,
            FluxColumn::Sap => FluxColumn::Pdcsap,
        }
    }

    fn flag(self) -> &'static str {
        match self {
            FluxColumn::Pdcsap => "--flux pdcsap",
            FluxColumn::Sap => "--flux sap",
        }
    }
}

/// Whether `bytes` start as a FITS file does.
pub fn looks_like_fits(bytes: &[u8]) -> bool {
    bytes.starts_with(b"SIMPLE  =")
}

/// Reads a MAST light-curve file's identity and its LIGHTCURVE table's columns.
pub fn parse(name: &str, bytes: &[u8], flux: FluxColumn) -> Result<RawPart, LightCurveError> {
    let bad = |what: String| LightCurveError::BadFits { path: name.to_string(), what };
    let mut hdus = Fits::from_reader(Cursor::new(bytes));
    let primary = match hdus.next() {
        Some(Ok(HDU::Primary(hdu))) => hdu,
        Some(Ok(_)) => return Err(bad("the first header is not a primary header".to_string())),
        Some(Err(e)) => return Err(header_error(name, "the primary header", e)),
        None => return Err(bad("it holds no header".to_string())),
    };
    let identity = Identity::from_header(primary.get_header());
    let mut others = Vec::new();
    let mut table = None;
    for (index, hdu) in hdus.by_ref().enumerate() {
        let hdu = hdu.map_err(|e| header_error(name, &format!("extension {}'s header", index + 1), e))?;
        let HDU::XBinaryTable(hdu) = hdu else {
            others.push(
                extname(&hdu).unwrap_or_else(|| format!("extension {} (an image or ASCII table)", index + 1)),
            );
            continue;
        };
        let header = hdu.get_header();
        let extname = keyword_string(header, "EXTNAME").unwrap_or_else(|| format!("extension {}", index + 1));
        let is_lightcurve = extname.eq_ignore_ascii_case("LIGHTCURVE")
            || (table.is_none() && column_names(header).iter().any(|c| c.eq_ignore_ascii_case("TIME")));
        if is_lightcurve && table.is_none() {
            table = Some(Table::from_header(name, &extname, header, hdu.get_data_unit_byte_offset())?);
            break;
        }
        others.push(extname);
    }
    let Some(table) = table else {
        return Err(LightCurveError::NoLightCurveTable { path: name.to_string(), found: others });
    };
    // The extensions after the table (the aperture image) are not read, but a download cut
    // short there is still a broken file: every data unit must be whole.
    for hdu in hdus {
        let hdu = hdu.map_err(|e| {
            header_error(name, &format!("the header of an extension after {}", table.extname), e)
        })?;
        let start = hdu.get_data_unit_byte_offset();
        let needed = hdu.get_data_unit_byte_size();
        if start.checked_add(needed).is_none_or(|end| end > bytes.len() as u64) {
            let hdu = extname(&hdu)
                .map_or_else(|| "the last extension".to_string(), |n| format!("the {n} extension"));
            return Err(LightCurveError::Truncated {
                path: name.to_string(),
                hdu,
                start,
                needed,
                found: bytes.len() as u64,
            });
        }
    }
    table.read(name, bytes, flux, identity)
}

/// The primary header's account of the target.
struct Identity {
    target: Option<String>,
    mission: Option<String>,
    segment: Option<String>,
}

impl Identity {
    fn from_header(header: &ValueMap) -> Self {
        let named = |key| keyword_string(header, key).map(|s| s.to_ascii_uppercase());
        let mission = match named("MISSION").or_else(|| named("TELESCOP")).as_deref() {
            Some("TESS") => Some("TESS"),
            Some("K2") => Some("K2"),
            Some("KEPLER") if keyword_int(header, "CAMPAIGN").is_some() => Some("K2"),
            Some("KEPLER") => Some("Kepler"),
            _ => None,
        };
        let id = match mission {
            Some("Kepler") => keyword_int(header, "KEPLERID").map(|id| format!("KIC {id}")),
            Some("K2") => keyword_int(header, "KEPLERID").map(|id| format!("EPIC {id}")),
            Some("TESS") => keyword_int(header, "TICID").map(|id| format!("TIC {id}")),
            _ => None,
        };
        let segment = [("QUARTER", "Q"), ("CAMPAIGN", "C"), ("SECTOR", "S")]
            .iter()
            .find_map(|(key, prefix)| keyword_int(header, key).map(|n| format!("{prefix}{n}")));
        Identity {
            target: id.or_else(|| keyword_string(header, "OBJECT")),
            mission: mission.map(str::to_string),
            segment,
        }
    }
}

/// A binary table's layout, from its header.
struct Table {
    extname: String,
    start: u64,
    row_bytes: usize,
    rows: usize,
    columns: Vec<ColumnLayout>,
}

struct ColumnLayout {
    name: String,
    tform: String,
    offset: usize,
    kind: Option<Scalar>,
    scale: f64,
    zero: f64,
}

/// The one-value-per-row binary table formats a light curve's columns use.
#[derive(Clone, Copy)]
enum Scalar {
    U8,
    I16,
    I32,
    I64,
    F32,
    F64,
}

impl Scalar {
    fn width(self) -> usize {
        match self {
            Scalar::U8 => 1,
            Scalar::I16 => 2,
            Scalar::I32 | Scalar::F32 => 4,
            Scalar::I64 | Scalar::F64 => 8,
        }
    }

    fn read(self, b: &[u8]) -> f64 {
        match self {
            Scalar::U8 => f64::from(b[0]),
            Scalar::I16 => f64::from(i16::from_be_bytes([b[0], b[1]])),
            Scalar::I32 => f64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            Scalar::I64 => i64::from_be_bytes(b[..8].try_into().expect("8 bytes")) as f64,
            Scalar::F32 => f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            Scalar::F64 => f64::from_be_bytes(b[..8].try_into().expect("8 bytes")),
        }
    }
}

/// A TFORMn value's repeat count and its width in bytes (FITS 4.0, table 18); the scalar
/// kind when it is one number per row.
fn parse_tform(tform: &str) -> Option<(usize, Option<Scalar>)> {
    let tform = tform.trim();
    let digits = tform.len() - tform.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let repeat = if digits == 0 { 1 } else { tform[..digits].parse::<usize>().ok()? };
    let code = tform[digits..].chars().next()?;
    let (width, scalar) = match code {
        'L' | 'A' => (repeat, None),
        'X' => (repeat.div_ceil(8), None),
        'B' => (repeat, Some(Scalar::U8)),
        'I' => (repeat.checked_mul(2)?, Some(Scalar::I16)),
        'J' => (repeat.checked_mul(4)?, Some(Scalar::I32)),
        'K' => (repeat.checked_mul(8)?, Some(Scalar::I64)),
        'E' => (repeat.checked_mul(4)?, Some(Scalar::F32)),
        'D' => (repeat.checked_mul(8)?, Some(Scalar::F64)),
        'C' | 'P' => (repeat.checked_mul(8)?, None),
        'M' | 'Q' => (repeat.checked_mul(16)?, None),
        _ => return None,
    };
    Some((width, if repeat == 1 { scalar } else { None }))
}

impl Table {
    fn from_header(
        path: &str,
        extname: &str,
        header: &ValueMap,
        start: u64,
    ) -> Result<Self, LightCurveError> {
        let inconsistent = |what: String| LightCurveError::BadTableHeader {
            path: path.to_string(),
            hdu: extname.to_string(),
            what,
        };
        let count = |key: &str| {
            keyword_int(header, key)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| inconsistent(format!("{key} is missing or negative")))
        };
        let (row_bytes, rows, fields) = (count("NAXIS1")?, count("NAXIS2")?, count("TFIELDS")?);
        let mut columns = Vec::with_capacity(fields.min(999));
        let mut offset = 0usize;
        for i in 1..=fields.min(999) {
            let tform = keyword_string(header, &format!("TFORM{i}"))
                .ok_or_else(|| inconsistent(format!("TFORM{i} is missing")))?;
            let (width, kind) = parse_tform(&tform)
                .ok_or_else(|| inconsistent(format!("TFORM{i} = '{tform}' is not a FITS format")))?;
            columns.push(ColumnLayout {
                name: keyword_string(header, &format!("TTYPE{i}")).unwrap_or_else(|| format!("column {i}")),
                tform,
                offset,
                kind,
                scale: keyword_float(header, &format!("TSCAL{i}")).unwrap_or(1.0),
                zero: keyword_float(header, &format!("TZERO{i}")).unwrap_or(0.0),
            });
            offset =
                offset.checked_add(width).ok_or_else(|| inconsistent("row width overflows".to_string()))?;
        }
        if offset != row_bytes {
            return Err(inconsistent(format!(
                "its columns take {offset} bytes a row, but NAXIS1 = {row_bytes}"
            )));
        }
        Ok(Table { extname: extname.to_string(), start, row_bytes, rows, columns })
    }

    fn column(&self, name: &str) -> Option<&ColumnLayout> {
        self.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }

    fn missing(&self, path: &str, column: &str, hint: String) -> LightCurveError {
        LightCurveError::MissingColumn {
            path: path.to_string(),
            hdu: self.extname.clone(),
            column: column.to_string(),
            available: self.columns.iter().map(|c| c.name.clone()).collect(),
            hint,
        }
    }

    /// Decodes one scalar column from the table's rows.
    fn values(&self, path: &str, bytes: &[u8], column: &ColumnLayout) -> Result<Vec<f64>, LightCurveError> {
        let kind = column.kind.ok_or_else(|| LightCurveError::BadColumnFormat {
            path: path.to_string(),
            hdu: self.extname.clone(),
            column: column.name.clone(),
            tform: column.tform.clone(),
        })?;
        let start = self.start as usize + column.offset;
        Ok((0..self.rows)
            .map(|row| {
                let at = start + row * self.row_bytes;
                kind.read(&bytes[at..at + kind.width()]) * column.scale + column.zero
            })
            .collect())
    }

    fn read(
        &self,
        path: &str,
        bytes: &[u8],
        flux: FluxColumn,
        identity: Identity,
    ) -> Result<RawPart, LightCurveError> {
        let needed = (self.row_bytes as u64).checked_mul(self.rows as u64);
        if needed.and_then(|n| n.checked_add(self.start)).is_none_or(|end| end > bytes.len() as u64) {
            return Err(LightCurveError::Truncated {
                path: path.to_string(),
                hdu: format!("the {} table", self.extname),
                start: self.start,
                needed: needed.unwrap_or(u64::MAX),
                found: bytes.len() as u64,
            });
        }
        let time = self.column("TIME").ok_or_else(|| {
            self.missing(
                path,
                "TIME",
                "A light-curve table needs a TIME column; give a MAST light-curve file.".into(),
            )
        })?;
        let flux_column = self.column(flux.name()).ok_or_else(|| {
            let other = flux.other();
            let hint = if self.column(other.name()).is_some() {
                format!("The file has {}: pass {} to read it.", other.name(), other.flag())
            } else {
                "Give a MAST light-curve file (Kepler/K2 *llc.fits, TESS *lc.fits).".to_string()
            };
            self.missing(path, flux.name(), hint)
        })?;
        let flux_err = match self.column(&format!("{}_ERR", flux.name())) {
            Some(column) => Some(self.values(path, bytes, column)?),
            None => None,
        };
        let quality = match self.column("QUALITY").or_else(|| self.column("SAP_QUALITY")) {
            Some(column) => {
                Some(self.values(path, bytes, column)?.into_iter().map(|q| q as i64 as u32).collect())
            }
            None => None,
        };
        Ok(RawPart {
            source: Source {
                file: path.to_string(),
                target: identity.target,
                mission: identity.mission,
                segment: identity.segment,
                flux_column: flux_column.name.clone(),
            },
            time: self.values(path, bytes, time)?,
            flux: self.values(path, bytes, flux_column)?,
            flux_err,
            quality,
        })
    }
}

/// A header fitsrs could not read: cut short (a truncated download), or not FITS.
fn header_error(path: &str, which: &str, e: fitsrs::error::Error) -> LightCurveError {
    let cut_short = matches!(&e, fitsrs::error::Error::Io(std::io::ErrorKind::UnexpectedEof))
        || matches!(&e, fitsrs::error::Error::StaticError(m) if m.contains("EOF"));
    if cut_short {
        LightCurveError::TruncatedHeader { path: path.to_string(), which: which.to_string() }
    } else {
        LightCurveError::BadFits { path: path.to_string(), what: format!("{which} cannot be read ({e})") }
    }
}

fn extname(hdu: &HDU) -> Option<String> {
    match hdu {
        HDU::Primary(h) | HDU::XImage(h) => keyword_string(h.get_header(), "EXTNAME"),
        HDU::XBinaryTable(h) => keyword_string(h.get_header(), "EXTNAME"),
        HDU::XASCIITable(h) => keyword_string(h.get_header(), "EXTNAME"),
    }
}

fn column_names(header: &ValueMap) -> Vec<String> {
    let fields = keyword_int(header, "TFIELDS").unwrap_or(0).clamp(0, 999);
    (1..=fields).filter_map(|i| keyword_string(header, &format!("TTYPE{i}"))).collect()
}

fn keyword_string(header: &ValueMap, key: &str) -> Option<String> {
    match header.get(key)? {
        Value::String { value, .. } => Some(value.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Integer { value, .. } => Some(value.to_string()),
        Value::Float { value, .. } => Some(value.to_string()),
        _ => None,
    }
}

fn keyword_int(header: &ValueMap, key: &str) -> Option<i64> {
    match header.get(key)? {
        Value::Integer { value, .. } => Some(*value),
        Value::Float { value, .. } if value.fract() == 0.0 && value.abs() < 9e15 => Some(*value as i64),
        Value::String { value, .. } => value.trim().parse().ok(),
        _ => None,
    }
}

fn keyword_float(header: &ValueMap, key: &str) -> Option<f64> {
    match header.get(key)? {
        Value::Integer { value, .. } => Some(*value as f64),
        Value::Float { value, .. } => Some(*value),
        _ => None,
    }
    .filter(|v| v.is_finite())
}
