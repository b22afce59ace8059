//! The report as plain text, for a terminal or a log file.

use std::fmt::Write;

use crate::data::Label;

use super::report::Report;

/// The confusion matrix (counts and row percentages), the per-class table, the scalar
/// scores and, for a binary problem, the operating thresholds.
pub fn render_table(report: &Report) -> String {
    let mut out = String::new();
    let labels: Vec<String> = report.classes.iter().map(Label::to_string).collect();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "{} samples, {} classes ({})\n",
        report.samples,
        report.classes.len(),
        labels.join(", ")
    );

    out.push_str("Confusion matrix (rows: true class, columns: predicted; count and % of row)\n");
    let header = std::iter::once(String::new()).chain(labels.iter().map(|l| format!("pred {l}"))).collect();
    let rows = report.confusion.iter().zip(&report.confusion_normalized).zip(&labels).map(
        |((counts, fractions), label)| {
            std::iter::once(format!("true {label}"))
                .chain(counts.iter().zip(fractions).map(|(c, f)| format!("{c} ({:.1}%)", 100.0 * f)))
                .collect()
        },
    );
    out.push_str(&grid(std::iter::once(header).chain(rows).collect()));

    out.push_str("\nPer class\n");
    let header = ["class", "precision", "recall", "f1", "support"].map(String::from);
    let rows = report.per_class.iter().map(|c| {
        vec![
            c.label.to_string(),
            format!("{:.4}", c.precision),
            format!("{:.4}", c.recall),
            format!("{:.4}", c.f1),
            c.support.to_string(),
        ]
    });
    out.push_str(&grid(std::iter::once(header.to_vec()).chain(rows).collect()));

    out.push('\n');
    let mut scalars =
        vec![("accuracy", Some(report.accuracy)), ("balanced accuracy", Some(report.balanced_accuracy))];
    if let Some(binary) = &report.binary {
        scalars.extend([
            ("ROC AUC", report.roc_auc),
            ("PR AUC (average precision)", report.pr_auc),
            ("Fowlkes-Mallows", Some(binary.fowlkes_mallows)),
            ("Jaccard", Some(binary.jaccard)),
            ("positive rate", Some(binary.positive_rate)),
        ]);
    }
    let rows = scalars
        .into_iter()
        .map(|(name, value)| {
            let shown = value.map_or("undefined (one class only)".to_string(), |v| format!("{v:.4}"));
            vec![name.to_string(), shown]
        })
        .collect();
    out.push_str(&grid(rows));

    if let Some(binary) = &report.binary {
        let _ = writeln!(
            out,
            "\nDecision thresholds (class {} when its probability >= threshold)",
            binary.positive_label
        );
        let header =
            ["rule", "threshold", "precision", "recall", "specificity", "f1", "TN", "FP", "FN", "TP"]
                .map(String::from);
        let rows = binary.thresholds.iter().map(|p| {
            let [[tn, fp], [fn_, tp]] = p.confusion;
            vec![
                p.rule.describe().to_string(),
                format!("{:.4}", p.threshold),
                format!("{:.4}", p.precision),
                format!("{:.4}", p.recall),
                format!("{:.4}", p.specificity),
                format!("{:.4}", p.f1),
                tn.to_string(),
                fp.to_string(),
                fn_.to_string(),
                tp.to_string(),
            ]
        });
        out.push_str(&grid(std::iter::once(header.to_vec()).chain(rows).collect()));
    }
    out
}

/// Rows as aligned columns: the first left-aligned (names), the rest right-aligned
/// (numbers), two spaces apart.
fn grid(rows: Vec<Vec<String>>) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, &w))| match c {
                0 => format!("{cell:<w$}"),
                _ => format!("{cell:>w$}"),
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
