//! The data input layer end to end: CSV files on disk in, errors a user can act on out;
//! preprocessing, batch sampling, rolling and splitting on random inputs.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use starskope::data::label::ints;
use starskope::data::{
    balanced_class_weights, check_known_classes, check_training_classes, gather_batch, read_csv,
    read_csv_report, stratified_split, BatchPlan, Dataset, Layout, NanPolicy, Preprocess, ReadOptions,
    SampleMode,
};

mod common;
use common::{random_dataset, to_csv, write_csv};

// ---------------------------------------------------------------- helpers

fn opts(nan: NanPolicy) -> ReadOptions {
    ReadOptions { nan }
}

/// The error message for reading `contents`, which must fail.
fn read_error(contents: &str, nan: NanPolicy) -> (String, String) {
    let (_dir, path) = write_csv(contents.as_bytes());
    let err = read_csv(&path, &opts(nan)).expect_err("reading should fail");
    (err.to_string(), path.display().to_string())
}

fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "message lacks {part:?}:\n{message}");
    }
}

fn read_ok(contents: &[u8], nan: NanPolicy) -> Dataset {
    let (_dir, path) = write_csv(contents);
    read_csv(&path, &opts(nan)).unwrap()
}

fn same_rows(got: &Dataset, want: &Dataset) {
    assert_eq!(got.labels, want.labels);
    assert_eq!(got.len, want.len);
    assert_eq!(got.values, want.values);
}

// ---------------------------------------------------------------- good files

#[test]
fn header_and_headerless_files_read_the_same_rows() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let want = random_dataset(&mut rng, 9, 17, &[1, 2, 3]);
    for header in [true, false] {
        let (_dir, path) = write_csv(to_csv(&want, header, "\n").as_bytes());
        let (got, report) = read_csv_report(&path, &ReadOptions::default()).unwrap();
        same_rows(&got, &want);
        assert_eq!(got.source, path.display().to_string());
        assert_eq!(report.header.is_some(), header);
        if let Some(names) = report.header {
            assert_eq!(names.len(), 18);
            assert_eq!(names[17], "FLUX.17");
        }
    }
}

#[test]
fn crlf_bom_blank_lines_and_padding_are_accepted() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let want = random_dataset(&mut rng, 6, 11, &[-1, 4]);
    // Without a header the BOM sits before the first label, where it must not turn
    // the first data row into a header.
    for header in [true, false] {
        let padded = to_csv(&want, header, "\r\n").replace(',', " ,\t");
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(padded.as_bytes());
        bytes.extend_from_slice(b"\r\n   \r\n");
        let (_dir, path) = write_csv(&bytes);
        let (got, report) = read_csv_report(&path, &ReadOptions::default()).unwrap();
        same_rows(&got, &want);
        assert_eq!(report.header.map(|h| h[0].clone()), header.then(|| "LABEL".into()));
    }
}

#[test]
fn integral_float_labels_are_integers() {
    let ds = read_ok(b"2.0,0.5,1.5\n-1.0,3,4\n1,5,6\n", NanPolicy::Error);
    assert_eq!(ds.labels, vec![2, -1, 1]);
    assert_eq!(ds.values, vec![0.5, 1.5, 3.0, 4.0, 5.0, 6.0]);
}

#[test]
fn nan_fill_interpolates_and_counts() {
    let text = "LABEL,A,B,C,D,E,F\n1, nan ,2,,NaN,8,\n2,1,2,3,4,5,6\n1,NA,-3,inf,-1,null,0.5\n";
    let (_dir, path) = write_csv(text.as_bytes());
    let (ds, report) = read_csv_report(&path, &opts(NanPolicy::Fill)).unwrap();
    assert_eq!(ds.labels, vec![1, 2, 1]);
    #[rustfmt::skip]
    let want = vec![
        2.0, 2.0, 4.0, 6.0, 8.0, 8.0,
        1.0, 2.0, 3.0, 4.0, 5.0, 6.0,
        -3.0, -3.0, -2.0, -1.0, -0.25, 0.5,
    ];
    assert_eq!(ds.values, want);
    assert_eq!(report.filled_cells, 4 + 3);
    assert_eq!(report.dropped_rows, 0);
}

#[test]
fn nan_drop_skips_rows_and_counts_them() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let want = random_dataset(&mut rng, 5, 8, &[1, 2]);
    let mut lines: Vec<String> = to_csv(&want, false, "\n").lines().map(str::to_string).collect();
    lines.insert(2, "2,1,2,,4,5,6,7,8".to_string());
    lines.insert(4, "1,1,2,3,4,5,6,7,-inf".to_string());
    let (_dir, path) = write_csv(lines.join("\n").as_bytes());
    let (got, report) = read_csv_report(&path, &opts(NanPolicy::Drop)).unwrap();
    same_rows(&got, &want);
    assert_eq!(report.dropped_rows, 2);
}

#[test]
fn nan_drop_still_rejects_text() {
    let (msg, path) = read_error("1,0.5,\n2,abc,1\n", NanPolicy::Drop);
    assert_mentions(&msg, &[&path, "line 2, column 2", "\"abc\""]);
}

// ---------------------------------------------------------------- bad files

#[test]
fn missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exoTrain.csv");
    let msg = read_csv(&path, &ReadOptions::default()).unwrap_err().to_string();
    assert_mentions(&msg, &[&path.display().to_string(), "no such file"]);
}

#[test]
fn directory_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let msg = read_csv(dir.path(), &ReadOptions::default()).unwrap_err().to_string();
    assert_mentions(&msg, &[&dir.path().display().to_string(), "is a directory"]);
}

#[test]
fn empty_and_blank_files_are_rejected() {
    for text in ["", "\n\n", " \r\n\t\n"] {
        let (msg, path) = read_error(text, NanPolicy::Error);
        assert_mentions(&msg, &[&path, "empty", "a class label"]);
    }
}

#[test]
fn header_without_rows_is_rejected() {
    let (msg, path) = read_error("LABEL,FLUX.1,FLUX.2\r\n", NanPolicy::Error);
    assert_mentions(&msg, &[&path, "no data rows"]);
}

#[test]
fn ragged_row_says_expected_and_found() {
    let (msg, path) = read_error("1,0.5,0.25\n2,0.5,0.5\n2,0.5\n", NanPolicy::Error);
    assert_mentions(&msg, &[&path, "line 3", "has 2 columns", "line 1", "has 3"]);
}

#[test]
fn header_wider_than_rows_is_rejected() {
    let (msg, path) = read_error("LABEL,F1,F2,F3\n1,0.5,0.25\n", NanPolicy::Error);
    assert_mentions(&msg, &[&path, "line 2", "has 3 columns", "the header (line 1) has 4"]);
}

#[test]
fn text_cell_is_quoted_with_its_column_name() {
    let text = "LABEL,FLUX.1,FLUX.2\n1,0.5,0.25\n2,0.5,abc\n";
    let (msg, path) = read_error(text, NanPolicy::Error);
    assert_mentions(&msg, &[&path, "line 3", "column 3 (\"FLUX.2\")", "\"abc\"", "not a number"]);
}

#[test]
fn missing_samples_point_to_the_nan_option() {
    for (row, column, what) in [
        ("1,0.5,NaN", "column 3", "\"NaN\""),
        ("1,,0.5", "column 2", "empty"),
        ("1,inf,0.5", "column 2", "\"inf\""),
        ("1,0.5,NA", "column 3", "\"NA\""),
    ] {
        let (msg, path) = read_error(&format!("2,1,2\n{row}\n"), NanPolicy::Error);
        assert_mentions(&msg, &[&path, "line 2", column, what, "--nan fill", "--nan drop"]);
    }
}

#[test]
fn overflowing_sample_is_not_called_missing() {
    let (msg, path) = read_error("1,0.5,1e40\n", NanPolicy::Fill);
    assert_mentions(&msg, &[&path, "line 1, column 3", "\"1e40\"", "32-bit"]);
}

#[test]
fn fractional_label_is_rejected() {
    let (msg, path) = read_error("LABEL,F1\n1,0.5\n2.5,0.5\n", NanPolicy::Error);
    assert_mentions(&msg, &[&path, "line 3, column 1", "\"2.5\"", "integer"]);
}

#[test]
fn label_only_file_has_no_samples() {
    let (msg, path) = read_error("LABEL\n1\n2\n", NanPolicy::Error);
    assert_mentions(&msg, &[&path, "line 2", "only a label column", "no samples"]);
}

#[test]
fn fill_rejects_a_row_with_no_known_sample() {
    let (msg, path) = read_error("1,1,2\n2,nan,\n", NanPolicy::Fill);
    assert_mentions(&msg, &[&path, "line 2", "every sample", "--nan drop"]);
}

#[test]
fn drop_of_every_row_is_an_error() {
    let (msg, path) = read_error("1,nan,2\n2,,3\n", NanPolicy::Drop);
    assert_mentions(&msg, &[&path, "2 rows", "--nan fill"]);
}

#[test]
fn single_class_training_set_is_rejected() {
    let (_dir, path) = write_csv(b"LABEL,F1,F2\n1,0.5,0.25\n1,1,2\n");
    let ds = read_csv(&path, &ReadOptions::default()).unwrap();
    let msg = check_training_classes(&ds).unwrap_err().to_string();
    assert_mentions(&msg, &[&path.display().to_string(), "label 1", "at least 2 classes"]);
    let two = read_ok(b"1,0.5\n2,0.5\n", NanPolicy::Error);
    assert!(check_training_classes(&two).is_ok());
}

#[test]
fn unseen_test_label_is_rejected() {
    let (_dir, path) = write_csv(b"1,0.5\n3,0.5\n3,1\n2,0\n");
    let ds = read_csv(&path, &ReadOptions::default()).unwrap();
    let msg = check_known_classes(&ds, &ints(&[1, 2])).unwrap_err().to_string();
    assert_mentions(&msg, &[&path.display().to_string(), "2 row(s) have label 3", "1, 2"]);
    assert!(check_known_classes(&ds, &ints(&[1, 2, 3])).is_ok());
}

// ---------------------------------------------------------------- preprocessing

#[test]
fn preprocess_standardizes_each_row_then_smooths() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let ds = random_dataset(&mut rng, 5, 40, &[1, 2]);
    let pre = Preprocess::Plain { standardize: true, smooth_window: Some(7) };
    assert_eq!(pre.channels(), 2);
    let out = pre.apply(&ds);
    assert_eq!(out.len(), 5 * 2 * 40);
    for row in 0..5 {
        let flux = &out[row * 80..row * 80 + 40];
        let x: Vec<f64> = ds.series(row).iter().map(|&v| f64::from(v)).collect();
        let mean = x.iter().sum::<f64>() / 40.0;
        let std = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 40.0).sqrt();
        for (z, v) in flux.iter().zip(&x) {
            assert!((f64::from(*z) - (v - mean) / std).abs() < 1e-5);
        }
        // The smoothed channel, checked in the interior where no reflection happens.
        let smooth = &out[row * 80 + 40..row * 80 + 80];
        for i in 3..37 {
            let want = flux[i - 3..=i + 3].iter().sum::<f32>() / 7.0;
            assert!((smooth[i] - want).abs() < 1e-5, "row {row} index {i}");
        }
    }
}

#[test]
fn preprocess_default_matches_the_seed_notebook_and_survives_json() {
    let pre = Preprocess::default();
    assert_eq!(pre, Preprocess::Plain { standardize: true, smooth_window: Some(200) });
    let back: Preprocess = serde_json::from_str(&serde_json::to_string(&pre).unwrap()).unwrap();
    assert_eq!(back, pre);
    let raw = Preprocess::Plain { standardize: false, smooth_window: None };
    let ds = random_dataset(&mut ChaCha8Rng::seed_from_u64(5), 3, 9, &[1, 2]);
    assert_eq!(raw.channels(), 1);
    assert_eq!(raw.apply(&ds), ds.values);
}

#[test]
fn constant_row_standardizes_to_zeros() {
    let ds = Dataset { source: "flat".into(), labels: ints(&[1]), values: vec![1234.5; 10], len: 10 };
    assert!(Preprocess::default().apply(&ds).iter().all(|&v| v == 0.0));
}

// ---------------------------------------------------------------- sampling

fn random_labels(rng: &mut ChaCha8Rng, n: usize, rare: usize) -> Vec<i64> {
    let mut labels = vec![1i64; n];
    for _ in 0..rare {
        labels[rng.gen_range(0..n)] = 2;
    }
    labels
}

#[test]
fn same_seed_same_batches_and_epochs_differ() {
    let labels = random_labels(&mut ChaCha8Rng::seed_from_u64(6), 300, 9);
    for mode in [SampleMode::Balanced, SampleMode::Shuffled] {
        let a = BatchPlan::new(&labels, 50, 32, mode, true, 42).unwrap();
        let b = BatchPlan::new(&labels, 50, 32, mode, true, 42).unwrap();
        let c = BatchPlan::new(&labels, 50, 32, mode, true, 43).unwrap();
        let epoch = |p: &BatchPlan, e| p.epoch(e).collect::<Vec<_>>();
        // A resumed run rebuilds the plan and asks for epoch 3 directly.
        assert_eq!(epoch(&a, 3), epoch(&b, 3));
        assert_ne!(epoch(&a, 3), epoch(&a, 4));
        assert_ne!(epoch(&a, 3), epoch(&c, 3));
        assert_eq!(a.epoch(0).len(), 10);
    }
}

#[test]
fn balanced_batches_split_evenly_between_classes() {
    let labels = random_labels(&mut ChaCha8Rng::seed_from_u64(7), 500, 7);
    let plan = BatchPlan::new(&labels, 20, 32, SampleMode::Balanced, false, 1).unwrap();
    let batches: Vec<_> = plan.epoch(0).collect();
    assert_eq!(batches.len(), 16); // ceil(500 / 32)
    for batch in &batches {
        assert_eq!(batch.len(), 32);
        let rare = batch.iter().filter(|&&(r, _)| labels[r] == 2).count();
        assert_eq!(rare, 16);
        assert!(batch.iter().all(|&(_, offset)| offset == 0));
    }
    // Odd batch, three classes: 3 each, the 2 left over to distinct classes.
    let three: Vec<i64> = (0..90).map(|i| [5, 6, 6, 7, 7, 7][i % 6]).collect();
    let plan = BatchPlan::new(&three, 20, 11, SampleMode::Balanced, true, 2).unwrap();
    let mut extra_per_class = [0usize; 3];
    for batch in plan.epoch(1) {
        let mut counts = [0usize; 3];
        for &(row, offset) in &batch {
            counts[(three[row] - 5) as usize] += 1;
            assert!(offset < 20);
        }
        let mut sorted = counts;
        sorted.sort_unstable();
        assert_eq!(sorted, [3, 4, 4], "{counts:?}");
        for (k, &c) in counts.iter().enumerate() {
            extra_per_class[k] += usize::from(c == 4);
        }
    }
    // The left-over places rotate among classes rather than always going to the same.
    assert!(extra_per_class.iter().all(|&n| n > 0), "{extra_per_class:?}");
}

#[test]
fn shuffled_epoch_visits_every_row_once_with_a_short_last_batch() {
    let labels = random_labels(&mut ChaCha8Rng::seed_from_u64(8), 103, 5);
    let plan = BatchPlan::new(&labels, 64, 10, SampleMode::Shuffled, true, 9).unwrap();
    let batches: Vec<_> = plan.epoch(2).collect();
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, [vec![10; 10], vec![3]].concat());
    let mut rows: Vec<usize> = batches.iter().flatten().map(|&(r, _)| r).collect();
    assert_ne!(rows, (0..103).collect::<Vec<_>>(), "rows should be shuffled");
    rows.sort_unstable();
    assert_eq!(rows, (0..103).collect::<Vec<_>>());
    let offsets: Vec<usize> = batches.iter().flatten().map(|&(_, o)| o).collect();
    assert!(offsets.iter().all(|&o| o < 64));
    assert!(offsets.iter().filter(|&&o| o != 0).count() > 90);
}

#[test]
fn zero_batch_is_an_error() {
    let msg = BatchPlan::new(&[1, 2], 5, 0, SampleMode::Shuffled, false, 0).unwrap_err().to_string();
    assert_mentions(&msg, &["batch size", "at least 1"]);
}

#[test]
fn gather_rolls_like_np_roll_in_both_layouts() {
    let (rows, channels, len) = (4, 2, 7);
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let prepared: Vec<f32> = (0..rows * channels * len).map(|_| rng.gen_range(-5.0..5.0)).collect();
    let at = |row: usize, c: usize, i: usize| prepared[(row * channels + c) * len + i];
    let picks = [(2, 3), (0, 0), (2, 7 + 1), (3, 6)];
    let mut first = vec![0.0; picks.len() * channels * len];
    let mut major = vec![0.0; picks.len() * channels * len];
    gather_batch(&prepared, (channels, channels), len, &picks, Layout::ChannelsFirst, &mut first);
    gather_batch(&prepared, (channels, channels), len, &picks, Layout::TimeMajor, &mut major);
    for (b, &(row, shift)) in picks.iter().enumerate() {
        for c in 0..channels {
            for i in 0..len {
                // np.roll(x, shift)[i] == x[(i - shift) mod len]
                let want = at(row, c, (i + 2 * len - shift % len) % len);
                assert_eq!(first[(b * channels + c) * len + i], want);
                assert_eq!(major[(b * len + i) * channels + c], want);
            }
        }
    }
    // np.roll([a, b, c, d, e, f, g], 3) == [e, f, g, a, b, c, d]
    let x: Vec<f32> = (0..len).map(|i| at(2, 0, i)).collect();
    assert_eq!(&first[..len], &[x[4], x[5], x[6], x[0], x[1], x[2], x[3]]);
}

// ---------------------------------------------------------------- split and weights

#[test]
fn stratified_split_keeps_class_shares() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let labels: Vec<i64> = (0..400)
        .map(|_| [1, 1, 1, 1, 1, 1, 1, 2, 2, 3][rng.gen_range(0..10)])
        .chain([4, 4, 9]) // a class of two and a singleton
        .collect();
    let (train, val) = stratified_split(&labels, 0.25, 5).unwrap();
    let mut all = [train.clone(), val.clone()].concat();
    all.sort_unstable();
    assert_eq!(all, (0..labels.len()).collect::<Vec<_>>());
    let count = |rows: &[usize], c: i64| rows.iter().filter(|&&r| labels[r] == c).count();
    for c in [1, 2, 3] {
        let n = count(&all, c);
        let want = (n as f64 * 0.25).round() as usize;
        assert_eq!(count(&val, c), want, "class {c}");
    }
    assert_eq!((count(&train, 4), count(&val, 4)), (1, 1));
    assert_eq!((count(&train, 9), count(&val, 9)), (1, 0));
    assert_eq!(stratified_split(&labels, 0.25, 5).unwrap(), (train.clone(), val));
    assert_ne!(stratified_split(&labels, 0.25, 6).unwrap().0, train);
}

#[test]
fn split_fraction_outside_zero_one_is_an_error() {
    for f in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
        let msg = stratified_split(&[1, 2, 1, 2], f, 0).unwrap_err().to_string();
        assert_mentions(&msg, &["between 0 and 1", "--val-split"]);
    }
}

#[test]
fn balanced_weights_match_sklearn() {
    // sklearn compute_class_weight('balanced', classes=[1,2,3], y): n / (k * count).
    let labels = [1, 1, 1, 1, 1, 1, 2, 2, 3, 1];
    let w = balanced_class_weights(&labels, &[1, 2, 3]);
    let want = [10.0 / (3.0 * 7.0), 10.0 / (3.0 * 2.0), 10.0 / 3.0];
    for (g, w) in w.iter().zip(want) {
        assert!((g - w).abs() < 1e-6);
    }
    assert_eq!(balanced_class_weights(&labels, &[1, 5])[1], 0.0);
}

#[test]
fn real_layout_file_reads_at_full_width() {
    // A Kaggle-shaped file (3,197 samples per row) at a tenth of exoTrain's rows.
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let want = random_dataset(&mut rng, 120, 3197, &[1, 2]);
    let (_dir, path) = write_csv(to_csv(&want, true, "\n").as_bytes());
    let got = read_csv(Path::new(&path), &ReadOptions::default()).unwrap();
    same_rows(&got, &want);
}
