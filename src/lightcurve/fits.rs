//! MAST light-curve FITS files: Kepler and K2 `*llc.fits`, TESS SPOC `*lc.fits`.
//!
//! Such a file is a primary header (the target's KEPLERID or TICID, OBJECT, MISSION or
//! TELESCOP, QUARTER/CAMPAIGN/SECTOR) and a binary table extension named LIGHTCURVE, one
//! row per cadence: TIME (BKJD or BTJD, days), SAP_FLUX and PDCSAP_FLUX with their _ERR
//! columns, and QUALITY (SAP_QUALITY in Kepler's older files), then an aperture image.
//!
//! [`fits_header`](super::fits_header) walks the container; the few columns wanted are
//! decoded here straight from the table's fixed-width big-endian rows, after checking that
//! the rows are all in the file.

use super::fits_header::{units, Hdu, HeaderError};
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
    let mut hdus = units(bytes);
    let primary = match hdus.next() {
        Some(hdu) => hdu.map_err(|e| header_error(name, e))?,
        None => return Err(LightCurveError::Empty { path: name.to_string() }),
    };
    let identity = Identity::from_header(&primary);
    let mut others = Vec::new();
    let mut table = None;
    for hdu in hdus.by_ref() {
        let hdu = hdu.map_err(|e| header_error(name, e))?;
        let is_table = hdu.string("XTENSION").is_some_and(|x| x.eq_ignore_ascii_case("BINTABLE"));
        let named = hdu.string("EXTNAME").is_some_and(|n| n.eq_ignore_ascii_case("LIGHTCURVE"));
        let has_time = (1..=hdu.int("TFIELDS").unwrap_or(0).clamp(0, 999))
            .any(|i| hdu.string(&format!("TTYPE{i}")).is_some_and(|c| c.eq_ignore_ascii_case("TIME")));
        if is_table && (named || has_time) {
            table = Some(Table::from_header(name, &hdu)?);
            break;
        }
        others.push(hdu.name());
    }
    let Some(table) = table else {
        return Err(LightCurveError::NoLightCurveTable { path: name.to_string(), found: others });
    };
    // The extensions after the table (the aperture image) are not read, but a download cut
    // short there is still a broken file: every data unit must be whole.
    for hdu in hdus {
        let hdu = hdu.map_err(|e| header_error(name, e))?;
        if hdu.data_start.checked_add(hdu.data_len).is_none_or(|end| end > bytes.len() as u64) {
            return Err(LightCurveError::Truncated {
                path: name.to_string(),
                hdu: format!("the {} extension", hdu.name()),
                start: hdu.data_start,
                needed: hdu.data_len,
                found: bytes.len() as u64,
            });
        }
    }
    table.read(name, bytes, flux, identity)
}

/// A header that cannot be read: cut short (a truncated download), or not FITS.
fn header_error(path: &str, e: HeaderError) -> LightCurveError {
    let which = |index: usize| match index {
        0 => "the primary header".to_string(),
        n => format!("extension {n}'s header"),
    };
    match e {
        HeaderError::Truncated { index } => {
            LightCurveError::TruncatedHeader { path: path.to_string(), which: which(index) }
        }
        HeaderError::Invalid { index, what } => LightCurveError::BadFits {
            path: path.to_string(),
            what: format!("{} is invalid: {what}", which(index)),
        },
    }
}

/// The primary header's account of the target.
struct Identity {
    target: Option<String>,
    mission: Option<String>,
    segment: Option<String>,
}

impl Identity {
    fn from_header(header: &Hdu) -> Self {
        let named = |key| header.string(key).map(|s| s.to_ascii_uppercase());
        let mission = match named("MISSION").or_else(|| named("TELESCOP")).as_deref() {
            Some("TESS") => Some("TESS"),
            Some("K2") => Some("K2"),
            Some("KEPLER") if header.int("CAMPAIGN").is_some() => Some("K2"),
            Some("KEPLER") => Some("Kepler"),
            _ => None,
        };
        let id = match mission {
            Some("Kepler") => header.int("KEPLERID").map(|id| format!("KIC {id}")),
            Some("K2") => header.int("KEPLERID").map(|id| format!("EPIC {id}")),
            Some("TESS") => header.int("TICID").map(|id| format!("TIC {id}")),
            _ => None,
        };
        let segment = [("QUARTER", "Q"), ("CAMPAIGN", "C"), ("SECTOR", "S")]
            .iter()
            .find_map(|(key, prefix)| header.int(key).map(|n| format!("{prefix}{n}")));
        Identity {
            target: id.or_else(|| header.string("OBJECT")),
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
    fn from_header(path: &str, header: &Hdu) -> Result<Self, LightCurveError> {
        let extname = header.name();
        let inconsistent = |what: String| LightCurveError::BadTableHeader {
            path: path.to_string(),
            hdu: extname.clone(),
            what,
        };
        let count = |key: &str| {
            header
                .int(key)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| inconsistent(format!("{key} is missing or negative")))
        };
        let (row_bytes, rows, fields) = (count("NAXIS1")?, count("NAXIS2")?, count("TFIELDS")?);
        let mut columns = Vec::with_capacity(fields.min(999));
        let mut offset = 0usize;
        for i in 1..=fields.min(999) {
            let tform = header
                .string(&format!("TFORM{i}"))
                .ok_or_else(|| inconsistent(format!("TFORM{i} is missing")))?;
            let (width, kind) = parse_tform(&tform)
                .ok_or_else(|| inconsistent(format!("TFORM{i} = '{tform}' is not a FITS format")))?;
            columns.push(ColumnLayout {
                name: header.string(&format!("TTYPE{i}")).unwrap_or_else(|| format!("column {i}")),
                tform,
                offset,
                kind,
                scale: header.float(&format!("TSCAL{i}")).unwrap_or(1.0),
                zero: header.float(&format!("TZERO{i}")).unwrap_or(0.0),
            });
            offset =
                offset.checked_add(width).ok_or_else(|| inconsistent("row width overflows".to_string()))?;
        }
        if offset != row_bytes {
            return Err(inconsistent(format!(
                "its columns take {offset} bytes a row, but NAXIS1 = {row_bytes}"
            )));
        }
        Ok(Table { extname, start: header.data_start, row_bytes, rows, columns })
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
