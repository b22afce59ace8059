//! What every plot shares: the embedded font, the palette, the canvas.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

/// Embedded so that text renders identically on a headless CI box with no fonts at all.
const FONT_BYTES: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");
const FONT_FAMILY: &str = "starskope-dejavu-sans";

pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 600;

// Tableau 10: distinguishable, and safe for the common colour-vision deficiencies.
pub const BLUE: RGBColor = RGBColor(31, 119, 180);
pub const ORANGE: RGBColor = RGBColor(255, 127, 14);
pub const GREEN: RGBColor = RGBColor(44, 160, 44);
pub const RED: RGBColor = RGBColor(214, 39, 40);
pub const GREY: RGBColor = RGBColor(127, 127, 127);
pub const DARK: RGBColor = RGBColor(40, 40, 40);

pub fn font(size: u32) -> TextStyle<'static> {
    TextStyle::from((FONT_FAMILY, size).into_font()).color(&DARK)
}

pub fn title_font() -> TextStyle<'static> {
    font(24)
}

/// A white canvas of `size` pixels that writes a PNG to `path` when presented.
pub fn canvas(path: &Path, size: (u32, u32)) -> Result<DrawingArea<BitMapBackend<'_>, Shift>> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "the embedded DejaVuSans.ttf is not a valid font".to_string())
        })
        .clone()
        .map_err(|e| anyhow!(e))?;
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    Ok(root)
}

/// Writes the PNG, naming the file in the error (a missing directory is the usual cause).
pub fn finish(root: &DrawingArea<BitMapBackend<'_>, Shift>, path: &Path) -> Result<()> {
    root.present().with_context(|| format!("writing plot {}", path.display()))
}

/// `(lo, hi)` of the finite values with a margin of `pad` of the span, widened when all
/// values are equal so that a flat series is still drawn; None if no value is finite.
pub fn padded_range(values: impl IntoIterator<Item = f64>, pad: f64) -> Option<(f64, f64)> {
    let (lo, hi) = values.into_iter().filter(|v| v.is_finite()).fold(
        None,
        |range: Option<(f64, f64)>, v| match range {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        },
    )?;
    let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
    Some((lo - pad * span, hi + pad * span))
}
