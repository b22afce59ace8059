//! Example light curves: what the classifier sees, both channels.

use std::path::Path;

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{canvas, finish, font, padded_range, BLUE, ORANGE, WIDTH};

/// One panel: a light curve and, optionally, its smoothed channel on the same axis.
#[derive(Clone, Debug, PartialEq)]
pub struct CurveExample {
    pub title: String,
    pub flux: Vec<f32>,
    pub smooth: Option<Vec<f32>>,
}

/// Panels per row: give three examples per class, class after class, and each row of the
/// grid is one class.
pub const COLUMNS: usize = 3;
const PANEL_HEIGHT: u32 = 240;
const TITLE_HEIGHT: u32 = 50;
const SUBTITLE_HEIGHT: u32 = 22;

/// A grid of panels, `COLUMNS` to a row, in the order given; `channels` says what the
/// blue and orange lines are, one line of the heading per `; `-separated part (a heading
/// on one line ran off both sides of the image).
pub fn plot_light_curves(path: &Path, channels: &str, examples: &[CurveExample]) -> Result<()> {
    ensure!(!examples.is_empty(), "no light curves to plot in {}", path.display());
    let rows = examples.len().div_ceil(COLUMNS);
    let lines: Vec<&str> = channels.split("; ").collect();
    let height = TITLE_HEIGHT + SUBTITLE_HEIGHT * lines.len() as u32 + PANEL_HEIGHT * rows as u32;
    let root = canvas(path, (WIDTH, height))?;
    let mut root = root.titled("Light curves as the model sees them", font(20))?;
    for line in lines {
        root = root.titled(line, font(15))?;
    }
    let panels = root.split_evenly((rows, COLUMNS));
    for (panel, example) in panels.iter().zip(examples) {
        draw_curve(panel, example)?;
    }
    finish(&root, path)
}

fn draw_curve(area: &DrawingArea<BitMapBackend<'_>, Shift>, example: &CurveExample) -> Result<()> {
    let series = |values: &[f32]| -> Vec<(f64, f64)> {
        values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| (i as f64, f64::from(v)))
            .collect()
    };
    let raw = series(&example.flux);
    let smooth = example.smooth.as_deref().map(series).unwrap_or_default();
    let Some((y_lo, y_hi)) = padded_range(raw.iter().chain(&smooth).map(|p| p.1), 0.05) else {
        area.draw(&Text::new(format!("{}: no finite values", example.title), (10, 30), font(14)))?;
        return Ok(());
    };
    let length = example.flux.len().max(example.smooth.as_ref().map_or(0, Vec::len));
    let mut chart = ChartBuilder::on(area)
        .caption(&example.title, font(15))
        .margin(6)
        .x_label_area_size(22)
        .y_label_area_size(42)
        .build_cartesian_2d(0.0..(length.max(2) - 1) as f64, y_lo..y_hi)?;
    chart
        .configure_mesh()
        .label_style(font(11))
        .x_labels(4)
        .y_labels(5)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| compact(*y))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart.draw_series(LineSeries::new(raw, BLUE.mix(0.8).stroke_width(1)))?;
    chart.draw_series(LineSeries::new(smooth, ORANGE.stroke_width(2)))?;
    Ok(())
}

/// Tick labels short enough for a small panel: raw Kepler flux runs to 1e5.
fn compact(y: f64) -> String {
    match y.abs() {
        a if a >= 1e4 => format!("{y:.1e}"),
        a if a >= 10.0 => format!("{y:.0}"),
        _ => format!("{y:.1}"),
    }
}
