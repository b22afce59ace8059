//! Training history: loss and accuracy per epoch, training against validation.

use std::path::Path;

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{canvas, finish, font, padded_range, title_font, BLUE, GREY, HEIGHT, ORANGE, WIDTH};

/// One epoch's numbers, as the training loop records them.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochPoint {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: Option<f64>,
    pub train_accuracy: Option<f64>,
    pub val_accuracy: Option<f64>,
}

/// Two panels, loss and accuracy (the loss alone when no accuracy was recorded), each with
/// training and validation curves; `selected` (the epoch model selection kept) is marked
/// with a vertical line.
pub fn plot_history(path: &Path, epochs: &[EpochPoint], selected: Option<usize>) -> Result<()> {
    ensure!(!epochs.is_empty(), "no epochs to plot in {}", path.display());
    let root = canvas(path, (WIDTH, HEIGHT))?;
    let root = root.titled("Training history", title_font())?;
    // A diverged run's NaN or infinite losses are left out rather than drawn off-chart.
    let metric = |get: fn(&EpochPoint) -> Option<f64>| -> Vec<(f64, f64)> {
        epochs.iter().filter_map(|e| get(e).filter(|v| v.is_finite()).map(|v| (e.epoch as f64, v))).collect()
    };
    let train_accuracy = metric(|e| e.train_accuracy);
    let val_accuracy = metric(|e| e.val_accuracy);
    let has_accuracy = !(train_accuracy.is_empty() && val_accuracy.is_empty());
    // Without any accuracy the loss gets the whole width rather than an empty half.
    let panels = match has_accuracy {
        true => root.split_evenly((1, 2)),
        false => vec![root.clone()],
    };
    draw_panel(
        &panels[0],
        "Loss",
        "loss",
        &metric(|e| Some(e.train_loss)),
        &metric(|e| e.val_loss),
        selected,
        SeriesLabelPosition::UpperRight,
    )?;
    if has_accuracy {
        draw_panel(
            &panels[1],
            "Accuracy",
            "accuracy",
            &train_accuracy,
            &val_accuracy,
            selected,
            SeriesLabelPosition::LowerRight,
        )?;
    }
    finish(&root, path)
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    caption: &str,
    y_label: &str,
    train: &[(f64, f64)],
    val: &[(f64, f64)],
    selected: Option<usize>,
    legend_at: SeriesLabelPosition,
) -> Result<()> {
    let all = || train.iter().chain(val);
    let (y_lo, y_hi) = padded_range(all().map(|p| p.1), 0.08).unwrap_or((0.0, 1.0));
    let x_values = all().map(|p| p.0).chain(selected.map(|s| s as f64));
    let (x_lo, x_hi) = padded_range(x_values, 0.02).unwrap_or((0.0, 1.0));
    let mut chart = ChartBuilder::on(area)
        .caption(caption, font(20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_label)
        .label_style(font(14))
        .axis_desc_style(font(16))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (points, name, colour) in [(train, "training", BLUE), (val, "validation", ORANGE)] {
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
    }
    if let Some(epoch) = selected {
        let x = epoch as f64;
        chart
            .draw_series(DashedLineSeries::new([(x, y_lo), (x, y_hi)], 8, 5, GREY.stroke_width(2)))?
            .label(format!("selected epoch {epoch}"))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], GREY.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .label_font(font(14))
        .background_style(WHITE.mix(0.85))
        .border_style(GREY)
        .position(legend_at)
        .draw()?;
    Ok(())
}
