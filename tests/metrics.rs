//! Metrics against values worked out by hand (and cross-checked with scikit-learn 1.9),
//! against brute-force definitions on random data, and the plots as real PNG files.

use std::path::PathBuf;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use starskope::data::label::ints;
use starskope::metrics::plots::{
    plot_confusion, plot_history, plot_light_curves, plot_pr, plot_roc, CurveExample, EpochPoint,
};
use starskope::metrics::{render_table, Report, Rule};

const TOL: f64 = 1e-9;

fn close(actual: f64, expected: f64, what: &str) {
    assert!((actual - expected).abs() < TOL, "{what}: got {actual}, expected {expected}");
}

/// Random probability rows whose largest entry is at `predicted[i]`.
fn probs_predicting(k: usize, predicted: &[usize], rng: &mut ChaCha8Rng) -> Vec<f32> {
    predicted
        .iter()
        .flat_map(|&p| {
            let mut row: Vec<f32> = (0..k).map(|_| rng.gen_range(0.01..1.0)).collect();
            let top = (0..k).fold(0, |b, i| if row[i] > row[b] { i } else { b });
            row.swap(top, p);
            row[p] += 0.01;
            let sum: f32 = row.iter().sum();
            row.into_iter().map(move |v| v / sum)
        })
        .collect()
}

/// A binary report from the positive-class probability, as a sigmoid model gives it.
fn binary(truth: &[usize], scores: &[f32]) -> Report {
    let probs: Vec<f32> = scores.iter().flat_map(|&p| [1.0 - p, p]).collect();
    Report::new(&ints(&[1, 2]), truth, &probs).unwrap()
}

#[test]
fn three_class_confusion_and_per_class_scores() {
    let truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
    let predicted = [0, 0, 1, 2, 1, 1, 0, 2, 2, 1];
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let probs = probs_predicting(3, &predicted, &mut rng);
    let r = Report::new(&ints(&[-1, 4, 7]), &truth, &probs).unwrap();

    assert_eq!(r.confusion, vec![vec![2, 1, 1], vec![1, 2, 0], vec![0, 1, 2]]);
    close(r.confusion_normalized[0][1], 0.25, "row 0 normalized");
    close(r.confusion_normalized[1][0], 1.0 / 3.0, "row 1 normalized");
    close(r.accuracy, 0.6, "accuracy");
    // Recalls 2/4, 2/3, 2/3.
    close(r.balanced_accuracy, 11.0 / 18.0, "balanced accuracy");
    // (precision, recall, f1, support) per class: TP 2 each; predicted 3, 4, 3; true 4, 3, 3.
    let expected = [
        (2.0 / 3.0, 0.5, 4.0 / 7.0, 4),
        (0.5, 2.0 / 3.0, 4.0 / 7.0, 3),
        (2.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0, 3),
    ];
    for (c, (got, (p, rc, f1, support))) in r.per_class.iter().zip(expected).enumerate() {
        assert_eq!(got.label, [-1, 4, 7][c]);
        close(got.precision, p, "precision");
        close(got.recall, rc, "recall");
        close(got.f1, f1, "f1");
        assert_eq!(got.support, support);
    }
    assert!(r.roc_auc.is_none() && r.pr_auc.is_none() && r.binary.is_none());
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["roc_auc"].is_null() && json["pr_auc"].is_null());
}

#[test]
fn balanced_accuracy_leaves_out_classes_absent_from_truth() {
    // Class 2 never occurs in the truth but is predicted once: its recall is undefined
    // and must not drag the mean down; its precision and F1 are 0, not NaN.
    let truth = [0, 0, 0, 1];
    let predicted = [0, 2, 0, 1];
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let r = Report::new(&ints(&[1, 2, 3]), &truth, &probs_predicting(3, &predicted, &mut rng)).unwrap();
    close(r.balanced_accuracy, (2.0 / 3.0 + 1.0) / 2.0, "balanced accuracy");
    close(r.per_class[2].precision, 0.0, "precision of an unseen class");
    close(r.per_class[2].recall, 0.0, "recall of an unseen class");
    close(r.per_class[2].f1, 0.0, "f1 of an unseen class");
    assert_eq!(r.confusion_normalized[2], vec![0.0, 0.0, 0.0]);
}

#[test]
fn binary_areas_with_tied_scores() {
    // Positives score 0.35, 0.8, 0.35; negatives 0.1, 0.4, 0.35. Pairwise: 0.8 beats all
    // three negatives; each 0.35 beats 0.1, loses to 0.4, ties 0.35 (counts half):
    // (3 + 1.5 + 1.5) / 9 = 2/3.
    let truth = [0, 0, 1, 1, 0, 1];
    let scores = [0.1, 0.4, 0.35, 0.8, 0.35, 0.35];
    let r = binary(&truth, &scores);
    close(r.roc_auc.unwrap(), 2.0 / 3.0, "ROC AUC");
    // Thresholds 0.8: R 1/3 at P 1; 0.4: no new recall; 0.35 (three samples at once):
    // R 1 at P 3/5. AP = 1/3 * 1 + 2/3 * 3/5 = 11/15.
    close(r.pr_auc.unwrap(), 11.0 / 15.0, "average precision");

    let b = r.binary.as_ref().unwrap();
    let roc: Vec<(f64, f64)> = b.roc_curve.iter().map(|p| (p.fpr, p.tpr)).collect();
    let third = 1.0 / 3.0;
    let expected = [(0.0, 0.0), (0.0, third), (third, third), (2.0 * third, 1.0), (1.0, 1.0)];
    assert_eq!(roc.len(), expected.len(), "{roc:?}");
    for (got, want) in roc.iter().zip(expected) {
        close(got.0, want.0, "fpr");
        close(got.1, want.1, "tpr");
    }
    assert!(b.roc_curve[0].threshold.is_infinite());
    // Thresholds read as the model's f32 scores print, not as their binary expansion.
    assert_eq!(b.roc_curve[3].threshold, 0.35);
    let pr: Vec<(f64, f64)> = b.pr_curve.iter().map(|p| (p.recall, p.precision)).collect();
    let expected = [(0.0, 1.0), (third, 1.0), (third, 0.5), (1.0, 0.6), (1.0, 0.5)];
    for (got, want) in pr.iter().zip(expected) {
        close(got.0, want.0, "recall");
        close(got.1, want.1, "precision");
    }
    // The infinite thresholds become null: the JSON stays valid.
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("\"threshold\":null"));
    assert!(!json.contains("NaN") && !json.contains("inf"));
}

#[test]
fn perfect_inverted_and_constant_classifiers() {
    let truth = [1, 1, 0, 0];
    let perfect = binary(&truth, &[0.8, 0.9, 0.1, 0.2]);
    close(perfect.roc_auc.unwrap(), 1.0, "perfect AUC");
    close(perfect.pr_auc.unwrap(), 1.0, "perfect AP");

    let inverted = binary(&truth, &[0.1, 0.2, 0.8, 0.9]);
    close(inverted.roc_auc.unwrap(), 0.0, "inverted AUC");
    // Positives found third and fourth: 1/2 * 1/3 + 1/2 * 2/4 = 5/12.
    close(inverted.pr_auc.unwrap(), 5.0 / 12.0, "inverted AP");

    // One tie over everything: a single step from (0, 0) to (1, 1).
    let constant = binary(&[0, 1, 0, 1, 1], &[0.3; 5]);
    close(constant.roc_auc.unwrap(), 0.5, "constant AUC");
    close(constant.pr_auc.unwrap(), 0.6, "constant AP is the positive rate");
    assert_eq!(constant.binary.unwrap().roc_curve.len(), 2);
}

/// The definitions, computed the slow way: AUC as the share of (positive, negative)
/// pairs ranked right, ties counting half; AP as the mean over positives of the precision
/// among samples scoring at least as high.
fn brute_force(truth: &[usize], scores: &[f32]) -> (f64, f64) {
    let pos: Vec<f32> = (0..truth.len()).filter(|&i| truth[i] == 1).map(|i| scores[i]).collect();
    let neg: Vec<f32> = (0..truth.len()).filter(|&i| truth[i] == 0).map(|i| scores[i]).collect();
    let mut wins = 0.0;
    for p in &pos {
        for n in &neg {
            wins += match p.partial_cmp(n).unwrap() {
                std::cmp::Ordering::Greater => 1.0,
                std::cmp::Ordering::Equal => 0.5,
                std::cmp::Ordering::Less => 0.0,
            };
        }
    }
    let ap = pos
        .iter()
        .map(|&p| {
            let above = |s: &[f32]| s.iter().filter(|&&v| v >= p).count() as f64;
            above(&pos) / (above(&pos) + above(&neg))
        })
        .sum::<f64>()
        / pos.len() as f64;
    (wins / (pos.len() * neg.len()) as f64, ap)
}

#[test]
fn areas_match_brute_force_on_random_tied_scores() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for trial in 0..20 {
        let n = rng.gen_range(5..400);
        let truth: Vec<usize> = (0..n).map(|i| usize::from(i % 7 == 0 || rng.gen_bool(0.2))).collect();
        // Few distinct levels, so most scores are tied; positives lean higher.
        let levels = rng.gen_range(2..12) as f32;
        let scores: Vec<f32> = truth
            .iter()
            .map(|&t| ((rng.gen::<f32>() + 0.3 * t as f32).min(1.0) * levels).floor() / levels)
            .collect();
        if !truth.contains(&0) {
            continue;
        }
        let r = binary(&truth, &scores);
        let (auc, ap) = brute_force(&truth, &scores);
        close(r.roc_auc.unwrap(), auc, &format!("AUC, trial {trial}"));
        close(r.pr_auc.unwrap(), ap, &format!("AP, trial {trial}"));
    }
}

#[test]
fn operating_thresholds_by_hand() {
    // Same data as the tied-score example. Steps (threshold: recall, specificity, F1):
    // 0.8: 1/3, 1, 1/2; 0.4: 1/3, 2/3, 2/5; 0.35: 1, 1/3, 3/4; 0.1: 1, 0, 2/3.
    let r = binary(&[0, 0, 1, 1, 0, 1], &[0.1, 0.4, 0.35, 0.8, 0.35, 0.35]);
    let t = &r.binary.as_ref().unwrap().thresholds;
    assert_eq!(
        t.iter().map(|p| p.rule).collect::<Vec<_>>(),
        [Rule::Default, Rule::RocCrossover, Rule::BestF1]
    );
    // 0.5 calls only the 0.8 sample positive.
    close(t[0].threshold, 0.5, "default threshold");
    assert_eq!(t[0].confusion, [[3, 0], [2, 1]]);
    close(t[0].f1, 0.5, "default f1");
    // |recall - specificity| is smallest (1/3) at 0.4.
    assert!((t[1].threshold - 0.4).abs() < 1e-6, "{}", t[1].threshold);
    assert_eq!(t[1].confusion, [[2, 1], [2, 1]]);
    close(t[1].specificity, 2.0 / 3.0, "crossover specificity");
    // F1 peaks at 0.35: TP 3, FP 2, FN 0.
    assert!((t[2].threshold - 0.35).abs() < 1e-6, "{}", t[2].threshold);
    assert_eq!(t[2].confusion, [[1, 2], [0, 3]]);
    close(t[2].precision, 0.6, "best-F1 precision");
    close(t[2].recall, 1.0, "best-F1 recall");
    close(t[2].f1, 0.75, "best F1");
}

#[test]
fn default_threshold_agrees_with_the_argmax_confusion() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let truth: Vec<usize> = (0..300).map(|_| usize::from(rng.gen_bool(0.3))).collect();
    let scores: Vec<f32> = truth
        .iter()
        .map(|&t| (rng.gen::<f32>() * 0.7 + 0.3 * t as f32).clamp(0.001, 0.999))
        .filter(|&s| s != 0.5)
        .collect();
    let r = binary(&truth[..scores.len()], &scores);
    let default = &r.binary.as_ref().unwrap().thresholds[0];
    let [[tn, fp], [fn_, tp]] = default.confusion;
    assert_eq!(r.confusion, vec![vec![tn, fp], vec![fn_, tp]]);
    close(default.recall, r.per_class[1].recall, "recall");
    close(default.precision, r.per_class[1].precision, "precision");
}

#[test]
fn fowlkes_mallows_and_jaccard_of_the_positive_class() {
    // Predictions at 0.5: TP 2 (0.9, 0.7), FP 1 (0.6), FN 2 (0.2, 0.4), TN 2.
    let r = binary(&[1, 1, 0, 1, 1, 0, 0], &[0.9, 0.7, 0.6, 0.2, 0.4, 0.1, 0.3]);
    let b = r.binary.as_ref().unwrap();
    let (precision, recall) = (2.0 / 3.0, 0.5);
    close(r.per_class[1].precision, precision, "precision");
    close(r.per_class[1].recall, recall, "recall");
    close(b.fowlkes_mallows, (precision * recall).sqrt(), "Fowlkes-Mallows");
    close(b.jaccard, 2.0 / 5.0, "Jaccard");
    close(b.positive_rate, 4.0 / 7.0, "positive rate");
}

#[test]
fn zero_division_gives_zero_never_nan() {
    // No positive in the truth, and nothing predicted positive: every undefined ratio
    // is 0, the ROC AUC is undefined (null), average precision is 0.
    let r = binary(&[0, 0, 0], &[0.1, 0.2, 0.3]);
    assert_eq!(r.roc_auc, None);
    close(r.pr_auc.unwrap(), 0.0, "AP without positives");
    let b = r.binary.as_ref().unwrap();
    close(r.per_class[1].precision, 0.0, "precision");
    close(r.per_class[1].f1, 0.0, "f1");
    close(b.fowlkes_mallows, 0.0, "Fowlkes-Mallows");
    close(b.jaccard, 0.0, "Jaccard");
    close(r.balanced_accuracy, 1.0, "balanced accuracy over the one class present");
    // Only positives: specificity and FPR have no negatives to divide by.
    let r2 = binary(&[1, 1], &[0.7, 0.2]);
    assert_eq!(r2.roc_auc, None);
    close(r2.pr_auc.unwrap(), 1.0, "AP when every sample is positive");
    for report in [&r, &r2] {
        let json = serde_json::to_string(report).unwrap();
        assert!(!json.contains("NaN"), "{json}");
        for p in &report.binary.as_ref().unwrap().thresholds {
            assert!([p.precision, p.recall, p.specificity, p.f1].iter().all(|v| v.is_finite()));
        }
    }
}

#[test]
fn curves_are_capped_keeping_exact_endpoints() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let n = 3000;
    let truth: Vec<usize> = (0..n).map(|_| usize::from(rng.gen_bool(0.4))).collect();
    let scores: Vec<f32> = truth.iter().map(|&t| rng.gen::<f32>() * 0.8 + 0.2 * t as f32).collect();
    let r = binary(&truth, &scores);
    let b = r.binary.as_ref().unwrap();
    assert!(b.roc_curve.len() <= 200 && b.roc_curve.len() > 100, "{}", b.roc_curve.len());
    assert!(b.pr_curve.len() <= 200 && b.pr_curve.len() > 100, "{}", b.pr_curve.len());
    let (first, last) = (b.roc_curve[0], *b.roc_curve.last().unwrap());
    assert_eq!((first.fpr, first.tpr), (0.0, 0.0));
    assert_eq!((last.fpr, last.tpr), (1.0, 1.0));
    let min_score = scores.iter().copied().fold(f32::INFINITY, f32::min);
    assert_eq!(last.threshold as f32, min_score);
    assert_eq!(b.pr_curve.last().unwrap().recall, 1.0);
    assert!(b.roc_curve.windows(2).all(|w| w[0].threshold > w[1].threshold));
    // The areas use every point, not the thinned curve.
    let (auc, ap) = brute_force(&truth, &scores);
    close(r.roc_auc.unwrap(), auc, "AUC");
    close(r.pr_auc.unwrap(), ap, "AP");
}

#[test]
fn bad_input_is_an_error_that_says_what_is_wrong() {
    // (classes, truth, probabilities, what the message must say)
    type Case<'a> = (&'a [i64], &'a [usize], &'a [f32], &'a str);
    let cases: [Case; 6] = [
        (&[1], &[0], &[1.0], "at least 2 classes"),
        (&[2, 1], &[0], &[0.5, 0.5], "ascending"),
        (&[1, 2], &[], &[], "at least one sample"),
        (&[1, 2], &[0, 1], &[0.5, 0.5, 0.5], "expected 2 samples x 2 classes = 4"),
        (&[1, 2], &[0, 2], &[0.5, 0.5, 0.5, 0.5], "sample 1 has class index 2"),
        (&[1, 2], &[0, 1], &[0.5, 0.5, f32::NAN, 0.5], "sample 1 has a non-finite"),
    ];
    for (classes, truth, probs, message) in cases {
        let err = Report::new(&ints(classes), truth, probs).unwrap_err().to_string();
        assert!(err.contains(message), "expected {message:?} in {err:?}");
    }
}

#[test]
fn table_shows_matrix_classes_scores_and_thresholds() {
    let r = binary(&[0, 0, 1, 1, 0, 1], &[0.1, 0.4, 0.35, 0.8, 0.35, 0.35]);
    let table = render_table(&r);
    for needle in [
        "6 samples, 2 classes (1, 2)",
        "pred 2",
        "true 1",
        "3 (100.0%)",
        "2 (66.7%)",
        "ROC AUC",
        "0.6667",
        "0.7333",
        "sensitivity = specificity",
        "best F1",
    ] {
        assert!(table.contains(needle), "{needle:?} missing from\n{table}");
    }
    let multi =
        Report::new(&ints(&[1, 2, 3]), &[0, 1, 2], &[0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.6, 0.3, 0.1]).unwrap();
    let table = render_table(&multi);
    assert!(table.contains("pred 3") && !table.contains("ROC AUC"), "{table}");
}

/// Where the test plots go: `STARSKOPE_PLOT_DIR` to keep them for a look, else a
/// temporary directory.
fn plot_dir() -> (PathBuf, Option<tempfile::TempDir>) {
    match std::env::var_os("STARSKOPE_PLOT_DIR") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).unwrap();
            (PathBuf::from(dir), None)
        }
        None => {
            let tmp = tempfile::tempdir().unwrap();
            (tmp.path().to_path_buf(), Some(tmp))
        }
    }
}

fn assert_png(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.len() > 5000, "{} is only {} bytes", path.display(), bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
}

/// A K2-like test set of 570 stars with `planets` hosts; `sharpness` pushes the
/// non-planets' scores towards 0 (higher: a better classifier).
fn planet_report(rng: &mut ChaCha8Rng, planets: usize, sharpness: i32) -> Report {
    let truth: Vec<usize> = (0..570).map(|i| usize::from(i % (570 / planets) == 0)).collect();
    let scores: Vec<f32> = truth
        .iter()
        .map(|&t| match t {
            1 => rng.gen_range(0.3..0.99),
            _ => rng.gen::<f32>().powi(sharpness),
        })
        .collect();
    binary(&truth, &scores)
}

#[test]
fn plots_are_png_files() {
    let (dir, _keep) = plot_dir();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let report = planet_report(&mut rng, 5, 6);
    let strong = planet_report(&mut rng, 60, 25);

    let epochs: Vec<EpochPoint> = (1..=30)
        .map(|e| {
            let t = e as f64;
            EpochPoint {
                epoch: e,
                train_loss: 0.7 * (-t / 8.0).exp() + 0.05 + 0.01 * rng.gen::<f64>(),
                val_loss: Some(0.6 * (-t / 10.0).exp() + 0.1 + 0.002 * t + 0.02 * rng.gen::<f64>()),
                train_accuracy: Some(1.0 - 0.5 * (-t / 6.0).exp()),
                val_accuracy: Some(0.95 - 0.45 * (-t / 7.0).exp() - 0.03 * rng.gen::<f64>()),
            }
        })
        .collect();
    let history = dir.join("history.png");
    plot_history(&history, &epochs, Some(17)).unwrap();
    // A run without validation: training curves only, no accuracy panel data.
    let bare: Vec<EpochPoint> = epochs
        .iter()
        .map(|e| EpochPoint { val_loss: None, train_accuracy: None, val_accuracy: None, ..e.clone() })
        .collect();
    let history_bare = dir.join("history-no-validation.png");
    plot_history(&history_bare, &bare, None).unwrap();

    let confusion = dir.join("confusion.png");
    plot_confusion(&confusion, &report).unwrap();
    let roc = dir.join("roc.png");
    plot_roc(&roc, &report).unwrap();
    let pr = dir.join("pr.png");
    plot_pr(&pr, &report).unwrap();
    let roc_strong = dir.join("roc-strong.png");
    plot_roc(&roc_strong, &strong).unwrap();
    let pr_strong = dir.join("pr-strong.png");
    plot_pr(&pr_strong, &strong).unwrap();

    let truth: Vec<usize> = (0..200).map(|i| i % 4).collect();
    let predicted: Vec<usize> =
        truth.iter().map(|&t| if rng.gen_bool(0.7) { t } else { rng.gen_range(0..4) }).collect();
    let multi =
        Report::new(&ints(&[1, 2, 3, 4]), &truth, &probs_predicting(4, &predicted, &mut rng)).unwrap();
    let confusion_multi = dir.join("confusion-4-classes.png");
    plot_confusion(&confusion_multi, &multi).unwrap();
    let err = plot_roc(&dir.join("never.png"), &multi).unwrap_err().to_string();
    assert!(err.contains("binary") && err.contains("4 classes"), "{err}");

    let examples: Vec<CurveExample> = (0..6)
        .map(|i| {
            let planet = i >= 3;
            let raw: Vec<f32> = (0..3197)
                .map(|t| {
                    let transit = planet && (t + 150 * i) % 700 < 25;
                    rng.gen_range(-1.0..1.0) + (t as f32 / 400.0).sin() * 2.0
                        - if transit { 6.0 } else { 0.0 }
                })
                .collect();
            let smooth = moving_average(&raw, 200);
            CurveExample {
                title: format!("{} star #{i}", if planet { "planet (2)" } else { "non-planet (1)" }),
                flux: raw,
                smooth: Some(smooth),
            }
        })
        .collect();
    let curves = dir.join("light-curves.png");
    plot_light_curves(&curves, "standardized flux (blue), its moving average (orange)", &examples).unwrap();

    let all =
        [&history, &history_bare, &confusion, &roc, &pr, &roc_strong, &pr_strong, &confusion_multi, &curves];
    for path in all {
        assert_png(path);
    }
    assert!(plot_history(&dir.join("missing-dir/x.png"), &epochs, None).is_err());
}

fn moving_average(x: &[f32], window: usize) -> Vec<f32> {
    (0..x.len())
        .map(|i| {
            let lo = i.saturating_sub(window / 2);
            let hi = (i + window / 2).min(x.len());
            x[lo..hi].iter().sum::<f32>() / (hi - lo) as f32
        })
        .collect()
}
