//! `predict --shard K/N` and `merge`: the parts of a CSV's rows and of a directory tree of
//! light-curve files, merged in any order, are byte for byte the file one unsharded
//! `predict` writes; parts that do not fit together are errors naming the file.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;
use tempfile::TempDir;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn starskope(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("starskope").unwrap().env("NODEVICE_SELECT", "1").args(args).output().unwrap()
}

/// Runs starskope and returns its stderr, which must not be a panic; `ok` says whether it
/// must succeed or fail.
fn run(args: &[&str], ok: bool) -> String {
    let out = starskope(args);
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.success(), ok, "starskope {}:\n{text}", args.join(" "));
    assert!(!text.contains("panicked"), "{text}");
    text
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A seed-cnn trained for one epoch on the shipped sample (a few seconds), shared by the
/// tests of this binary: what is checked does not depend on the weights.
fn sample_model() -> &'static Path {
    static MODEL: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    let (_, model) = MODEL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let train = repo("data/sample/exoTrain.csv");
        run(
            &["train", "--device", "cpu", "--train", s(&train), "--epochs", "1", "--out", s(dir.path())],
            true,
        );
        let model = dir.path().join("model.safetensors");
        (dir, model)
    });
    model
}

/// Predicts `data` whole and in `n` parts, merges the parts (given in reverse order) and
/// checks that the merged file is the whole one, byte for byte; returns the parts.
fn merged_equals_whole(model: &Path, data: &str, n: usize, dir: &Path) -> Vec<PathBuf> {
    let whole = dir.join(format!("whole-{n}.csv"));
    run(&["predict", "--device", "cpu", "--model", s(model), "--data", data, "--out", s(&whole)], true);
    let parts: Vec<PathBuf> = (0..n)
        .map(|k| {
            let part = dir.join(format!("part-{k}-of-{n}.csv"));
            let shard = format!("{k}/{n}");
            run(
                &[
                    "predict",
                    "--device",
                    "cpu",
                    "--model",
                    s(model),
                    "--data",
                    data,
                    "--shard",
                    &shard,
                    "--out",
                    s(&part),
                ],
                true,
            );
            part
        })
        .collect();
    let merged = dir.join(format!("merged-{n}.csv"));
    let mut args = vec!["merge", "--out", s(&merged)];
    args.extend(parts.iter().rev().map(|p| s(p)));
    run(&args, true);
    let (whole, merged) = (std::fs::read(&whole).unwrap(), std::fs::read(&merged).unwrap());
    assert!(whole.len() > 100, "{}", String::from_utf8_lossy(&whole));
    assert!(
        whole == merged,
        "{n} parts of {data}:\n{}\n!=\n{}",
        String::from_utf8_lossy(&whole),
        String::from_utf8_lossy(&merged)
    );
    parts
}

#[test]
fn csv_rows_in_parts_merge_into_the_unsharded_file() {
    let dir = tempfile::tempdir().unwrap();
    let test = repo("data/sample/exoTest.csv");
    for n in [1, 3, 4] {
        merged_equals_whole(sample_model(), s(&test), n, dir.path());
    }
    // 12 rows in 13 parts: one part holds no row, and the others keep their data row index.
    let fixture = repo("tests/fixtures/int_classes_v1.csv");
    let model = repo("tests/fixtures/int_classes_v1.safetensors");
    let parts = merged_equals_whole(&model, s(&fixture), 13, dir.path());
    let lines =
        |k: usize| std::fs::read_to_string(&parts[k]).unwrap().lines().map(String::from).collect::<Vec<_>>();
    assert_eq!(lines(0), ["# starskope shard 0/13 rows 0..0 of 12", "index,label,p_1,p_2,predicted"]);
    assert_eq!(lines(12)[0], "# starskope shard 12/13 rows 11..12 of 12");
    assert!(lines(12)[2].starts_with("11,"), "{:?}", lines(12));
}

/// Text light curves of `targets` stars in a tree of directories, one of them in two files
/// named as MAST names K2 campaigns (stitched into one target), of different lengths.
fn light_curve_tree(dir: &Path, targets: usize) {
    let curve = |seed: usize, points: usize, t0: f64| {
        let mut text = String::from("time,flux,flux_err\n");
        for i in 0..points {
            let t = t0 + i as f64 * 0.020_43;
            let wobble = ((i * 7919 + seed * 104_729) % 1000) as f64 / 1e6;
            let dip = if (t % (2.0 + seed as f64 * 0.37)) < 0.1 { 0.004 } else { 0.0 };
            text += &format!(
                "{t:.5},{:.6},0.0005\n",
                1.0 + 0.002 * (t * (1.0 + seed as f64)).sin() + wobble - dip
            );
        }
        text
    };
    for k in 0..targets {
        let sub = dir.join(format!("group{}", k % 3));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("star_{k:02}.csv")), curve(k, 600 + 37 * k, 2000.0)).unwrap();
    }
    std::fs::write(dir.join("group1/ktwo201000042-c01_llc.csv"), curve(42, 900, 1900.0)).unwrap();
    std::fs::write(dir.join("group2/ktwo201000042-c02_llc.csv"), curve(43, 800, 1990.0)).unwrap();
}

#[test]
fn a_tree_of_light_curves_in_parts_merges_into_the_unsharded_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("curves");
    light_curve_tree(&data, 10);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    for n in [1, 4, 11] {
        let parts = merged_equals_whole(sample_model(), s(&data), n, &out);
        let text = std::fs::read_to_string(&parts[0]).unwrap();
        assert!(text.starts_with(&format!("# starskope shard 0/{n} rows 0..")), "{text}");
    }
    let whole = std::fs::read_to_string(out.join("whole-1.csv")).unwrap();
    assert_eq!(whole.lines().count(), 1 + 11, "{whole}");
    assert!(whole.contains("EPIC 201000042,ktwo201000042-c01_llc.csv;ktwo201000042-c02_llc.csv,"), "{whole}");
    // A glob names the same files as the directory: the same parts.
    let glob = format!("{}/group*/*.csv", data.display());
    merged_equals_whole(sample_model(), &glob, 3, &out);
}

#[test]
fn parts_that_do_not_fit_together_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = repo("tests/fixtures/int_classes_v1.csv");
    let model = repo("tests/fixtures/int_classes_v1.safetensors");
    let p = merged_equals_whole(&model, s(&fixture), 3, dir.path());
    let other = merged_equals_whole(&model, s(&fixture), 2, dir.path());
    let out = dir.path().join("merged.csv");
    let merge = |parts: &[&Path]| {
        let mut args = vec!["merge", "--out", s(&out)];
        args.extend(parts.iter().map(|p| s(p)));
        let err = run(&args, false);
        assert!(!out.exists(), "a failed merge left {}", out.display());
        err
    };
    let err = merge(&[&p[0], &p[2]]);
    assert!(err.contains("no part holds shard 1/3 (rows 4..8)"), "{err}");
    let err = merge(&[&p[0], &p[1], &p[1], &p[2]]);
    assert!(err.contains(&format!("{} and {} are both shard 1/3", s(&p[1]), s(&p[1]))), "{err}");
    let err = merge(&[&p[0], &p[1], &other[1]]);
    assert!(err.contains(s(&other[1])) && err.contains("cut into the same number of parts"), "{err}");

    let edited = dir.path().join("edited.csv");
    let text = std::fs::read_to_string(&p[1]).unwrap();
    std::fs::write(&edited, text.replacen("p_2", "p_3", 1)).unwrap();
    let err = merge(&[&p[0], &edited, &p[2]]);
    assert!(err.contains(&format!("{}, line 2: its header", s(&edited))), "{err}");
    std::fs::write(&edited, &text[..text.trim_end().rfind('\n').unwrap() + 1]).unwrap();
    let err = merge(&[&p[0], &edited, &p[2]]);
    assert!(err.contains(&format!("{} has 3 rows, but shard 1/3 holds 4", s(&edited))), "{err}");
    std::fs::write(&edited, text.replacen("rows 4..8", "rows 4..9", 1)).unwrap();
    let err = merge(&[&p[0], &edited, &p[2]]);
    assert!(err.contains(&format!("{}, line 1: shard 1/3 of 12 rows holds rows 4..8", s(&edited))), "{err}");
    let whole = dir.path().join("whole-3.csv");
    let err = merge(&[&whole]);
    assert!(err.contains(&format!("{}, line 1:", s(&whole))) && err.contains("predict --shard"), "{err}");
    let err = merge(&[&dir.path().join("absent.csv")]);
    assert!(err.contains("absent.csv"), "{err}");
}

#[test]
fn bad_shards_are_refused_with_the_form_to_give() {
    let fixture = repo("tests/fixtures/int_classes_v1.csv");
    let model = repo("tests/fixtures/int_classes_v1.safetensors");
    for (shard, says) in [
        ("4/4", "K must be below N"),
        ("0/0", "N must be at least 1"),
        ("1", "is not K/N"),
        ("x/2", "is not a whole number"),
    ] {
        let err = run(
            &[
                "predict",
                "--device",
                "cpu",
                "--model",
                s(&model),
                "--data",
                s(&fixture),
                "--shard",
                shard,
                "--out",
                "x.csv",
            ],
            false,
        );
        assert!(err.contains("--shard") && err.contains(says) && err.contains("0/4, 1/4"), "{shard}: {err}");
    }
}
