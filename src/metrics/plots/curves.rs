//! ROC and precision-recall curves of a binary report, with its operating thresholds.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::style::{canvas, finish, font, title_font, BLUE, DARK, GREEN, GREY, HEIGHT, RED, WIDTH};
use crate::metrics::{BinaryReport, OperatingPoint, Report, Rule};

type Chart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// True-positive rate against false-positive rate, the chance diagonal, and the three
/// operating thresholds.
pub fn plot_roc(path: &Path, report: &Report) -> Result<()> {
    let binary = binary_part(report, "ROC")?;
    let auc = report.roc_auc.map_or("undefined".to_string(), |a| format!("{a:.3}"));
    let root = canvas(path, (WIDTH, HEIGHT))?;
    let title = format!("ROC curve, positive class {}", binary.positive_label);
    let mut chart =
        unit_chart(&root, &title, "false-positive rate (1 - specificity)", "true-positive rate (recall)")?;
    chart
        .draw_series(DashedLineSeries::new([(0.0, 0.0), (1.0, 1.0)], 8, 5, GREY.stroke_width(2)))?
        .label("chance (AUC = 0.5)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], GREY.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(binary.roc_curve.iter().map(|p| (p.fpr, p.tpr)), BLUE.stroke_width(3)))?
        .label(format!("classifier (AUC = {auc})"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], BLUE.stroke_width(3)));
    mark_thresholds(&mut chart, &binary.thresholds, |p| (p.counts().false_positive_rate(), p.recall))?;
    // A useful classifier leaves the lower right empty; an inverted one, the upper left.
    let corner = match report.roc_auc {
        Some(a) if a < 0.5 => SeriesLabelPosition::UpperLeft,
        _ => SeriesLabelPosition::LowerRight,
    };
    legend(&mut chart, corner)?;
    finish(&root, path)
}

/// Precision against recall, drawn as the step function that average precision sums,
/// with the positive rate (what guessing achieves) and the three operating thresholds.
pub fn plot_pr(path: &Path, report: &Report) -> Result<()> {
    let binary = binary_part(report, "precision-recall")?;
    let ap = report.pr_auc.unwrap_or(0.0);
    let root = canvas(path, (WIDTH, HEIGHT))?;
    let title = format!("Precision-recall curve, positive class {}", binary.positive_label);
    let mut chart = unit_chart(&root, &title, "recall (true-positive rate)", "precision")?;
    let rate = binary.positive_rate;
    chart
        .draw_series(DashedLineSeries::new([(0.0, rate), (1.0, rate)], 8, 5, GREY.stroke_width(2)))?
        .label(format!("chance (AP = positive rate {rate:.3})"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], GREY.stroke_width(2)));
    // Precision P_k holds over (R_{k-1}, R_k]: rise or fall at R_{k-1}, then run to R_k.
    let steps = binary
        .pr_curve
        .windows(2)
        .flat_map(|w| [(w[0].recall, w[1].precision), (w[1].recall, w[1].precision)]);
    let start = binary.pr_curve.first().map(|p| (p.recall, p.precision));
    chart
        .draw_series(LineSeries::new(start.into_iter().chain(steps), BLUE.stroke_width(3)))?
        .label(format!("classifier (AP = {ap:.3})"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], BLUE.stroke_width(3)));
    mark_thresholds(&mut chart, &binary.thresholds, |p| (p.recall, p.precision))?;
    // A good classifier keeps precision high across recall and leaves the lower left
    // empty; a weak one (the usual case for a rare class) hugs the bottom instead.
    let corner = match ap {
        a if a >= 0.5 => SeriesLabelPosition::LowerLeft,
        _ => SeriesLabelPosition::UpperRight,
    };
    legend(&mut chart, corner)?;
    finish(&root, path)
}

fn binary_part<'r>(report: &'r Report, plot: &str) -> Result<&'r BinaryReport> {
    report.binary.as_ref().ok_or_else(|| {
        anyhow!("a {plot} plot needs a binary problem; this report has {} classes", report.classes.len())
    })
}

/// A square-ish chart over [0, 1] x [0, 1] with a little room outside for markers.
fn unit_chart<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
) -> Result<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, title_font())
        .margin(20)
        .margin_right(40)
        .x_label_area_size(55)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.02..1.02, -0.02..1.02)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(font(15))
        .axis_desc_style(font(17))
        .x_labels(11)
        .y_labels(11)
        .x_label_formatter(&|x| format!("{x:.1}"))
        .y_label_formatter(&|y| format!("{y:.1}"))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(GREY.mix(0.2))
        .draw()?;
    Ok(chart)
}

/// One distinct marker shape and colour per rule, so that the points stay apart in print
/// and for colour-blind readers; the legend gives each threshold's value.
fn mark_thresholds<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    points: &[OperatingPoint],
    at: impl Fn(&OperatingPoint) -> (f64, f64),
) -> Result<()> {
    for point in points {
        let xy = at(point);
        let label = format!("{} (threshold {:.3})", point.rule.describe(), point.threshold);
        let series = match point.rule {
            Rule::Default => chart.draw_series([Circle::new(xy, 8, DARK.stroke_width(3))])?,
            Rule::RocCrossover => chart.draw_series([TriangleMarker::new(xy, 10, GREEN.filled())])?,
            Rule::BestF1 => chart.draw_series([Cross::new(xy, 8, RED.stroke_width(4))])?,
        };
        let rule = point.rule;
        series.label(label).legend(move |(x, y)| {
            let c = (x + 12, y);
            match rule {
                Rule::Default => Circle::new(c, 6, DARK.stroke_width(3)).into_dyn(),
                Rule::RocCrossover => TriangleMarker::new(c, 8, GREEN.filled()).into_dyn(),
                Rule::BestF1 => Cross::new(c, 6, RED.stroke_width(3)).into_dyn(),
            }
        });
    }
    Ok(())
}

fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, position: SeriesLabelPosition) -> Result<()> {
    chart
        .configure_series_labels()
        .label_font(font(15))
        .background_style(WHITE.mix(0.9))
        .border_style(GREY)
        .position(position)
        .margin(12)
        .draw()?;
    Ok(())
}
