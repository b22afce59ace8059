//! Class-aware handling of labels: the stratified validation split, the checks that a
//! data set's classes fit training or a trained model, and balanced class weights.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::dataset::Dataset;
use super::error::DataError;
use super::label::Label;

/// Splits row indices into (train, validation), `fraction` of each class going to
/// validation (rounded, at least one), while every class with two or more rows keeps at
/// least one row on each side; a class with a single row stays in training. Both lists
/// are sorted. The same seed gives the same split.
pub fn stratified_split<L: Ord + Clone>(
    labels: &[L],
    fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>), DataError> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(DataError::BadFraction { fraction });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut by_class: Vec<(L, usize)> = labels.iter().cloned().zip(0..).collect();
    by_class.sort_unstable();
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for class_rows in by_class.chunk_by(|a, b| a.0 == b.0) {
        let mut rows: Vec<usize> = class_rows.iter().map(|&(_, row)| row).collect();
        rows.shuffle(&mut rng);
        let n = rows.len();
        let n_val = if n < 2 { 0 } else { ((n as f64 * fraction).round() as usize).clamp(1, n - 1) };
        val.extend_from_slice(&rows[..n_val]);
        train.extend_from_slice(&rows[n_val..]);
    }
    train.sort_unstable();
    val.sort_unstable();
    Ok((train, val))
}

/// Training needs at least two classes.
pub fn check_training_classes(ds: &Dataset) -> Result<(), DataError> {
    match ds.classes().as_slice() {
        [] => Err(DataError::NoTrainingRows { source_name: ds.source.clone() }),
        [class] => Err(DataError::SingleClass { source_name: ds.source.clone(), class: class.clone() }),
        _ => Ok(()),
    }
}

/// Every label of `ds` must be one the model was trained on (`known`).
pub fn check_known_classes(ds: &Dataset, known: &[Label]) -> Result<(), DataError> {
    check_known_labels(&ds.source, &ds.labels, known)
}

/// [`check_known_classes`] for labels whose samples have been prepared already.
pub fn check_known_labels(source: &str, labels: &[Label], known: &[Label]) -> Result<(), DataError> {
    // The smallest unknown label, as the classes are listed everywhere else.
    match labels.iter().filter(|c| !known.contains(c)).min() {
        None => Ok(()),
        Some(label) => Err(DataError::UnknownClass {
            source_name: source.to_string(),
            label: label.clone(),
            count: labels.iter().filter(|&l| l == label).count(),
            known: known.to_vec(),
        }),
    }
}

/// sklearn's `class_weight='balanced'`: `n / (k * count_c)` for each of `classes`, so that
/// every class contributes equally to the loss. A class with no rows gets 0 (it has no
/// loss terms to weigh).
pub fn balanced_class_weights<L: PartialEq>(labels: &[L], classes: &[L]) -> Vec<f32> {
    let n = labels.len() as f64;
    let k = classes.len() as f64;
    classes
        .iter()
        .map(|c| {
            let count = labels.iter().filter(|&l| l == c).count();
            if count == 0 {
                0.0
            } else {
                (n / (k * count as f64)) as f32
            }
        })
        .collect()
}
