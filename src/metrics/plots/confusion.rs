//! The confusion matrix as a heat map.

use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;

use super::style::{canvas, finish, font, title_font, DARK, HEIGHT, WIDTH};
use crate::metrics::Report;

/// Cells coloured by the fraction of the true class (row-normalized, so a rare class is
/// as visible as a common one), with the count and that percentage written in each cell.
pub fn plot_confusion(path: &Path, report: &Report) -> Result<()> {
    let k = report.classes.len();
    let root = canvas(path, (WIDTH, HEIGHT))?;
    let root = root.titled("Confusion matrix (colour and %: share of the true class)", title_font())?;
    let label = |v: &SegmentValue<usize>, flip: bool| match v {
        SegmentValue::CenterOf(i) if *i < k => {
            let class = if flip { k - 1 - i } else { *i };
            report.classes[class].to_string()
        }
        _ => String::new(),
    };
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .margin_right(60)
        .x_label_area_size(60)
        .y_label_area_size(90)
        // plotters' integer ranges are inclusive when discrete: 0..k-1 gives k segments.
        .build_cartesian_2d((0..k - 1).into_segmented(), (0..k - 1).into_segmented())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("predicted class")
        .y_desc("true class")
        .label_style(font(20))
        .axis_desc_style(font(18))
        .x_labels(k)
        .y_labels(k)
        .x_label_formatter(&|v| label(v, false))
        .y_label_formatter(&|v| label(v, true))
        .draw()?;

    // Row 0 (the first true class) is drawn at the top, as tables are read.
    let cells = || (0..k).flat_map(move |t| (0..k).map(move |p| (t, p, k - 1 - t)));
    chart.draw_series(cells().map(|(t, p, y)| {
        let shade = report.confusion_normalized[t][p];
        Rectangle::new(
            [
                (SegmentValue::Exact(p), SegmentValue::Exact(y)),
                (SegmentValue::Exact(p + 1), SegmentValue::Exact(y + 1)),
            ],
            heat(shade).filled(),
        )
    }))?;
    let cell_px = chart.plotting_area().dim_in_pixel().1 / k as u32;
    let size = (cell_px / 5).clamp(8, 22);
    if cell_px >= 24 {
        for (t, p, y) in cells() {
            let shade = report.confusion_normalized[t][p];
            let ink = if shade > 0.55 { WHITE } else { DARK };
            let style = font(size).color(&ink).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ));
            let centre = (SegmentValue::CenterOf(p), SegmentValue::CenterOf(y));
            let line = size as i32 * 3 / 4;
            chart.plotting_area().draw(
                &(EmptyElement::at(centre)
                    + Text::new(report.confusion[t][p].to_string(), (0, -line), style.clone())
                    + Text::new(format!("{:.1}%", 100.0 * shade), (0, line), style)),
            )?;
        }
    }
    finish(&root, path)
}

/// White at 0 to dark blue at 1.
fn heat(fraction: f64) -> RGBColor {
    let f = fraction.clamp(0.0, 1.0);
    let mix = |from: f64, to: f64| (from + (to - from) * f).round() as u8;
    RGBColor(mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0))
}
