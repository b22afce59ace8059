//! An ensemble's probabilities are the mean of its members' own, each member being an
//! ordinary network under its checkpoint names; a checkpoint carries every member and
//! refuses to load with one missing.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use starskope::backend::{Backend, TensorId};
use starskope::data::label::ints;
use starskope::data::{Layout, Preprocess};
use starskope::fastcpu::FastCpuBackend;
use starskope::model::checkpoint::{self, ModelCard, TensorMap};
use starskope::model::plan::{input_dims, plan};
use starskope::model::{resolve, Ensemble};
use starskope::train::evaluate::{network_probs, predict, Prepared};

const LEN: usize = 64;
const BATCH: usize = 4;

/// 7 random rows (not a whole number of batches: the last one is padded).
fn rows(rng: &mut ChaCha8Rng) -> Prepared {
    let rows = 7;
    Prepared {
        values: (0..rows * LEN).map(|_| rng.gen_range(-2.0..2.0)).collect(),
        rows,
        channels: 1,
        len: LEN,
        classes: None,
        detections: None,
    }
}

fn card(members: usize) -> ModelCard {
    ModelCard {
        spec: resolve("fcn").unwrap(),
        preprocess: Preprocess::Plain { standardize: true, smooth_window: None },
        classes: ints(&[1, 2]),
        channels: 1,
        length: LEN,
        members,
    }
}

/// Two fcn networks initialised from `seed`, 7 random rows, and the input slot.
fn pair_and_rows(be: &mut dyn Backend, seed: u64) -> (Ensemble, Prepared, TensorId) {
    let card = card(2);
    let layers = card.plan().unwrap();
    let pair = Ensemble::build(be, &layers, card.output().unwrap(), BATCH, 2).unwrap();
    pair.init(be, &layers, seed);
    (pair, rows(&mut ChaCha8Rng::seed_from_u64(seed)), be.alloc(BATCH * LEN))
}

#[test]
fn an_ensemble_averages_its_members_and_its_checkpoint_holds_them_all() {
    let be: &mut dyn Backend = &mut FastCpuBackend::new();
    let card = card(2);
    let layers = card.plan().unwrap();
    let output = card.output().unwrap();
    assert_eq!(layers, plan(&card.spec, input_dims(&card.spec, 1, LEN), output).unwrap());
    let (pair, data, x) = pair_and_rows(be, 9);
    let mean = predict(be, &pair, x, &data, Layout::ChannelsFirst).unwrap();
    let tensors = pair.download_params(be, false).unwrap();

    // Each member alone: its tensors under the plain names, in a one-network ensemble.
    let alone = |be: &mut dyn Backend, prefix: &str| -> Vec<f32> {
        let own: TensorMap = tensors
            .iter()
            .filter(|(name, ..)| prefix.is_empty() != name.starts_with("member"))
            .map(|(name, shape, v)| (name.trim_start_matches(prefix).to_string(), (shape.clone(), v.clone())))
            .collect();
        let one = Ensemble::build(be, &layers, output, BATCH, 1).unwrap();
        one.upload_params(be, &own, false).unwrap();
        predict(be, &one, x, &data, Layout::ChannelsFirst).unwrap()
    };
    let (first, second) = (alone(be, ""), alone(be, "member1."));
    let apart = first.iter().zip(&second).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(apart > 1e-3, "the members start from the same values: they differ by {apart}");
    for (i, m) in mean.iter().enumerate() {
        let want = (first[i] + second[i]) / 2.0;
        assert!((m - want).abs() < 1e-6, "probability {i}: {m}, the members' mean {want}");
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pair.safetensors");
    checkpoint::save(&path, &card, &tensors, None).unwrap();
    let ck = checkpoint::load(&path).unwrap();
    let loaded = Ensemble::load(be, &ck, &layers, BATCH).unwrap();
    assert_eq!(loaded.members.len(), 2);
    assert_eq!(predict(be, &loaded, x, &data, Layout::ChannelsFirst).unwrap(), mean);

    let without_second: Vec<_> =
        tensors.into_iter().filter(|(name, ..)| !name.starts_with("member1.")).collect();
    checkpoint::save(&path, &card, &without_second, None).unwrap();
    let err = format!("{:#}", checkpoint::load(&path).err().expect("a member is missing"));
    assert!(err.contains("parameter member1.") && err.contains("is missing"), "{err}");
}

/// Rows picked in any order (as the trainer's accuracy probe picks them) score as they
/// do among the whole set, the short last batch's padding included.
#[test]
fn picked_rows_score_as_in_the_whole_set() {
    let be: &mut dyn Backend = &mut FastCpuBackend::new();
    let (pair, data, x) = pair_and_rows(be, 5);
    let whole = predict(be, &pair, x, &data, Layout::ChannelsFirst).unwrap();
    let picked = [6, 0, 3, 5, 1];
    let some = network_probs(be, &pair, x, &data, &picked, Layout::ChannelsFirst).unwrap();
    assert_eq!(some.len(), 2 * picked.len());
    for (k, &r) in picked.iter().enumerate() {
        for c in 0..2 {
            let (got, want) = (some[2 * k + c], whole[2 * r + c]);
            assert!((got - want).abs() < 1e-6, "row {r} class {c}: {got} picked, {want} in the whole set");
        }
    }
}
