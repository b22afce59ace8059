//! Writes FITS files in the exact layout MAST publishes light curves in: a primary header
//! with the target's keywords, a LIGHTCURVE binary table (Kepler/K2: 20 columns ending in
//! SAP_QUALITY and the centroids; TESS: QUALITY), an APERTURE image; 2,880-byte blocks,
//! 80-byte cards, big-endian values.

/// A header card's value.
pub enum Val {
    Int(i64),
    Str(&'static str),
    Bool(bool),
}

/// One binary-table column: its name, TFORM (D, E or J) and one value per row.
pub struct Col {
    pub name: &'static str,
    pub tform: &'static str,
    pub values: Vec<f64>,
}

#[derive(Clone, Copy)]
pub enum Mission {
    Kepler { quarter: i64 },
    K2 { campaign: i64 },
    Tess { sector: i64 },
}

/// One file's cadences as the pipeline writes them (NaN flux where it has none).
#[derive(Clone)]
pub struct Cadences {
    pub time: Vec<f64>,
    pub flux: Vec<f64>,
    pub flux_err: Vec<f64>,
    pub quality: Vec<i64>,
}

impl Cadences {
    /// `n` cadences from `t0` every `step` days around `level` electrons/s with a gentle
    /// wobble, unflagged, errors 1e-4 of the level.
    pub fn steady(t0: f64, step: f64, n: usize, level: f64) -> Self {
        let time: Vec<f64> = (0..n).map(|i| t0 + step * i as f64).collect();
        Cadences {
            flux: time.iter().map(|t| level * (1.0 + 1e-3 * (t * 1.7).sin())).collect(),
            flux_err: (0..n).map(|i| level * 1e-4 * (1.0 + 0.01 * (i % 3) as f64)).collect(),
            quality: vec![0; n],
            time,
        }
    }
}

fn card(key: &str, value: &Val) -> String {
    let value = match value {
        Val::Int(v) => format!("{v:>20}"),
        Val::Bool(b) => format!("{:>20}", if *b { "T" } else { "F" }),
        Val::Str(s) => format!("'{s:<8}'"),
    };
    format!("{key:<8}= {value:<70}")
}

fn header(cards: &[(String, Val)]) -> Vec<u8> {
    let mut text: String = cards.iter().map(|(k, v)| card(k, v)).collect();
    text.push_str(&format!("{:<80}", "END"));
    let mut bytes = text.into_bytes();
    bytes.resize(bytes.len().div_ceil(2880) * 2880, b' ');
    bytes
}

fn pad_data(mut data: Vec<u8>) -> Vec<u8> {
    data.resize(data.len().div_ceil(2880) * 2880, 0);
    data
}

/// A primary header with no data, plus `cards`.
pub fn primary(cards: Vec<(&str, Val)>) -> Vec<u8> {
    let mut all: Vec<(String, Val)> = vec![
        ("SIMPLE".into(), Val::Bool(true)),
        ("BITPIX".into(), Val::Int(8)),
        ("NAXIS".into(), Val::Int(0)),
        ("EXTEND".into(), Val::Bool(true)),
    ];
    all.extend(cards.into_iter().map(|(k, v)| (k.to_string(), v)));
    header(&all)
}

/// A binary table extension named `extname` with `cols` (all of one length).
pub fn bintable(extname: &'static str, cols: &[Col]) -> Vec<u8> {
    let width = |tform: &str| match tform {
        "D" => 8,
        "E" | "J" => 4,
        other => panic!("test writer: TFORM {other}"),
    };
    let rows = cols.first().map_or(0, |c| c.values.len());
    let row_bytes: usize = cols.iter().map(|c| width(c.tform)).sum();
    let mut cards: Vec<(String, Val)> = vec![
        ("XTENSION".into(), Val::Str("BINTABLE")),
        ("BITPIX".into(), Val::Int(8)),
        ("NAXIS".into(), Val::Int(2)),
        ("NAXIS1".into(), Val::Int(row_bytes as i64)),
        ("NAXIS2".into(), Val::Int(rows as i64)),
        ("PCOUNT".into(), Val::Int(0)),
        ("GCOUNT".into(), Val::Int(1)),
        ("TFIELDS".into(), Val::Int(cols.len() as i64)),
    ];
    for (i, c) in cols.iter().enumerate() {
        cards.push((format!("TTYPE{}", i + 1), Val::Str(c.name)));
        cards.push((format!("TFORM{}", i + 1), Val::Str(c.tform)));
    }
    cards.push(("EXTNAME".into(), Val::Str(extname)));
    let mut data = Vec::with_capacity(rows * row_bytes);
    for row in 0..rows {
        for c in cols {
            let v = c.values[row];
            match c.tform {
                "D" => data.extend_from_slice(&v.to_be_bytes()),
                "E" => data.extend_from_slice(&(v as f32).to_be_bytes()),
                _ => data.extend_from_slice(&(v as i32).to_be_bytes()),
            }
        }
    }
    let mut bytes = header(&cards);
    bytes.extend(pad_data(data));
    bytes
}

/// The 4x4 32-bit APERTURE image that follows the table in MAST files.
pub fn aperture() -> Vec<u8> {
    let cards: Vec<(String, Val)> = vec![
        ("XTENSION".into(), Val::Str("IMAGE")),
        ("BITPIX".into(), Val::Int(32)),
        ("NAXIS".into(), Val::Int(2)),
        ("NAXIS1".into(), Val::Int(4)),
        ("NAXIS2".into(), Val::Int(4)),
        ("PCOUNT".into(), Val::Int(0)),
        ("GCOUNT".into(), Val::Int(1)),
        ("EXTNAME".into(), Val::Str("APERTURE")),
    ];
    let mut bytes = header(&cards);
    bytes.extend(pad_data(vec![0; 64]));
    bytes
}

/// The primary header's keywords for `mission` and target `id`.
pub fn identity(mission: Mission, id: i64) -> Vec<(&'static str, Val)> {
    match mission {
        Mission::Kepler { quarter } => vec![
            ("TELESCOP", Val::Str("Kepler")),
            ("OBJECT", Val::Str("KIC target")),
            ("KEPLERID", Val::Int(id)),
            ("QUARTER", Val::Int(quarter)),
            ("MISSION", Val::Str("Kepler")),
        ],
        Mission::K2 { campaign } => vec![
            ("TELESCOP", Val::Str("Kepler")),
            ("OBJECT", Val::Str("EPIC target")),
            ("KEPLERID", Val::Int(id)),
            ("CAMPAIGN", Val::Int(campaign)),
            ("MISSION", Val::Str("K2")),
        ],
        Mission::Tess { sector } => vec![
            ("TELESCOP", Val::Str("TESS")),
            ("OBJECT", Val::Str("TIC target")),
            ("TICID", Val::Int(id)),
            ("SECTOR", Val::Int(sector)),
        ],
    }
}

/// The LIGHTCURVE table's columns in MAST's order, the other columns filled with zeros.
pub fn mast_columns(mission: Mission, c: &Cadences) -> Vec<Col> {
    let n = c.time.len();
    let zeros = || vec![0.0; n];
    let col = |name, tform, values| Col { name, tform, values };
    let quality_name = if matches!(mission, Mission::Tess { .. }) { "QUALITY" } else { "SAP_QUALITY" };
    vec![
        col("TIME", "D", c.time.clone()),
        col("TIMECORR", "E", zeros()),
        col("CADENCENO", "J", (0..n).map(|i| i as f64).collect()),
        col("SAP_FLUX", "E", c.flux.iter().map(|f| f * 0.97).collect()),
        col("SAP_FLUX_ERR", "E", c.flux_err.clone()),
        col("SAP_BKG", "E", zeros()),
        col("SAP_BKG_ERR", "E", zeros()),
        col("PDCSAP_FLUX", "E", c.flux.clone()),
        col("PDCSAP_FLUX_ERR", "E", c.flux_err.clone()),
        col(quality_name, "J", c.quality.iter().map(|&q| q as f64).collect()),
        col("PSF_CENTR1", "D", zeros()),
        col("PSF_CENTR1_ERR", "E", zeros()),
        col("PSF_CENTR2", "D", zeros()),
        col("PSF_CENTR2_ERR", "E", zeros()),
        col("MOM_CENTR1", "D", zeros()),
        col("MOM_CENTR1_ERR", "E", zeros()),
        col("MOM_CENTR2", "D", zeros()),
        col("MOM_CENTR2_ERR", "E", zeros()),
        col("POS_CORR1", "E", zeros()),
        col("POS_CORR2", "E", zeros()),
    ]
}

/// A whole MAST light-curve file.
pub fn mast_file(mission: Mission, id: i64, c: &Cadences) -> Vec<u8> {
    let mut bytes = primary(identity(mission, id));
    bytes.extend(bintable("LIGHTCURVE", &mast_columns(mission, c)));
    bytes.extend(aperture());
    bytes
}
