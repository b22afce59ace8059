//! Mission light curves in: MAST FITS files written here in the archive's exact layout
//! (several quarters, gaps, flags, NaN), text tables, data sets with labels, every bad
//! input's message, and the real files of ../shared/realdata read in place.

mod mast_fits;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use mast_fits::{aperture, bintable, identity, mast_columns, mast_file, primary, Cadences, Mission};
use starskope::lightcurve::{
    list_targets, read_file, read_target, FluxColumn, LightCurve, LightCurveError, QualityMask, ReadOptions,
};

fn shared(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/realdata")).join(path)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn read_one(path: &Path, opts: &ReadOptions) -> Result<LightCurve, LightCurveError> {
    let targets = list_targets(path.to_str().unwrap(), None)?;
    assert_eq!(targets.len(), 1);
    read_target(&targets[0], opts)
}

fn error(path: &Path) -> String {
    match read_one(path, &ReadOptions::default()) {
        Ok(c) => panic!("{}: read {} points, expected an error", path.display(), c.time.len()),
        Err(e) => e.to_string(),
    }
}

/// Checks what every light curve promises: finite values, time strictly ascending.
fn assert_well_formed(c: &LightCurve) {
    assert!(c.time.windows(2).all(|w| w[1] > w[0]), "{}: time not ascending", c.target);
    assert!(c.time.iter().chain(&c.flux).all(|v| v.is_finite()), "{}", c.target);
    if let Some(errs) = &c.flux_err {
        assert_eq!(errs.len(), c.flux.len());
        assert!(errs.iter().all(|e| e.is_finite() && *e > 0.0));
    }
}

/// Three Kepler quarters of one star at different flux levels, with a gap between each,
/// flagged cadences and NaN flux, as MAST names and lays them out.
fn kepler_quarters(dir: &Path) -> Vec<PathBuf> {
    let step = 0.020434;
    let mut q3 = Cadences::steady(260.0, step, 400, 1000.0);
    q3.quality[10] = 1; // attitude tweak: dropped
    q3.quality[11] = 65536; // no data: dropped
    q3.quality[12] = 128; // cosmic ray in the aperture: kept by the default mask
    q3.flux[20] = f64::NAN;
    q3.flux_err[21] = f64::NAN;
    let mut q4 = Cadences::steady(350.0, step, 300, 1200.0);
    for i in 100..150 {
        q4.flux[i] = f64::NAN; // a downlink gap inside the quarter
    }
    let q5 = Cadences::steady(440.0, step, 500, 900.0);
    vec![
        write(
            dir,
            "kplr000001234-2010174085026_llc.fits",
            &mast_file(Mission::Kepler { quarter: 5 }, 1234, &q5),
        ),
        write(
            dir,
            "kplr000001234-2009350155506_llc.fits",
            &mast_file(Mission::Kepler { quarter: 3 }, 1234, &q3),
        ),
        write(
            dir,
            "kplr000001234-2010009091648_llc.fits",
            &mast_file(Mission::Kepler { quarter: 4 }, 1234, &q4),
        ),
    ]
}

#[test]
fn kepler_quarters_stitch_into_one_target() {
    let dir = tempfile::tempdir().unwrap();
    kepler_quarters(dir.path());
    let targets = list_targets(dir.path().to_str().unwrap(), None).unwrap();
    assert_eq!(targets.len(), 1);
    let c = read_target(&targets[0], &ReadOptions::default()).unwrap();
    assert_well_formed(&c);
    assert_eq!(c.target, "KIC 1234");
    assert_eq!(c.mission.as_deref(), Some("Kepler"));
    assert_eq!(
        c.files,
        [
            "kplr000001234-2009350155506_llc.fits",
            "kplr000001234-2010009091648_llc.fits",
            "kplr000001234-2010174085026_llc.fits"
        ]
    );
    let segments: Vec<_> = c.parts.iter().map(|p| p.segment.clone().unwrap()).collect();
    assert_eq!(segments, ["Q3", "Q4", "Q5"]);
    // q3: 2 flagged, 1 NaN flux; q4: 50 NaN; q5 whole
    assert_eq!(
        c.parts.iter().map(|p| (p.rows, p.points, p.flagged)).collect::<Vec<_>>(),
        [(400, 397, 2), (300, 250, 0), (500, 500, 0)]
    );
    assert_eq!(c.time.len(), 397 + 250 + 500);
    // each part divided by its own median: every quarter sits at 1 whatever its level
    for (p, level) in c.parts.iter().zip([1000.0, 1200.0, 900.0]) {
        assert!((p.median / level - 1.0).abs() < 2e-3, "{p:?}");
    }
    assert!(c.flux.iter().all(|f| (f - 1.0).abs() < 3e-3));
    // the errors are divided by the same median, and a NaN error does not drop the point
    // but takes the error column away from the whole curve
    assert!(c.flux_err.is_none(), "a NaN error leaves no usable error column");
    // gaps stay gaps: nothing between the quarters, nothing inside q4's downlink
    assert!(!c.time.iter().any(|&t| t > 260.0 + 400.0 * 0.020434 && t < 350.0));
    let gap_start = 350.0 + 99.5 * 0.020434;
    let gap_end = 350.0 + 149.5 * 0.020434;
    assert!(!c.time.iter().any(|&t| t > gap_start && t < gap_end));
}

/// MAST files as a bulk download keeps them, `*_llc.fits.gz` (and a text table gzipped
/// too): read as the same light curve as the plain files; a cut stream is named.
#[test]
fn gzip_compressed_files_read_as_the_plain_ones() {
    use std::io::Write;
    let gzip = |bytes: &[u8]| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    };
    let plain = tempfile::tempdir().unwrap();
    let packed = tempfile::tempdir().unwrap();
    for file in kepler_quarters(plain.path()) {
        let name = format!("{}.gz", file.file_name().unwrap().to_string_lossy());
        write(packed.path(), &name, &gzip(&std::fs::read(&file).unwrap()));
    }
    write(packed.path(), "star.csv.gz", &gzip(b"time,flux\n1.0,1.0\n2.0,0.99\n3.0,1.01\n"));
    let opts = ReadOptions::default();
    let targets = list_targets(packed.path().to_str().unwrap(), None).unwrap();
    let names: Vec<_> = targets.iter().map(|t| t.target.as_str()).collect();
    assert_eq!(names, ["KIC 1234", "star"]);
    let from_gz = read_target(&targets[0], &opts).unwrap();
    let from_plain = read_one(plain.path(), &opts).unwrap();
    assert_eq!(
        (&from_gz.time, &from_gz.flux, &from_gz.parts.len()),
        (&from_plain.time, &from_plain.flux, &3)
    );
    assert_eq!(read_target(&targets[1], &opts).unwrap().time, [1.0, 2.0, 3.0]);

    let whole = gzip(&std::fs::read(plain.path().join("kplr000001234-2009350155506_llc.fits")).unwrap());
    let cut = write(packed.path(), "kplr000001234-2009350155506_llc.fits.gz", &whole[..whole.len() / 2]);
    let e = read_file(&cut, &opts).unwrap_err().to_string();
    assert!(e.contains("kplr000001234-2009350155506_llc.fits.gz: not a readable gzip file"), "{e}");
}

#[test]
fn flux_errors_come_on_the_flux_scale() {
    let dir = tempfile::tempdir().unwrap();
    let c = Cadences::steady(100.0, 0.02, 50, 5000.0);
    let path = write(
        dir.path(),
        "ktwo201367065-c01_llc.fits",
        &mast_file(Mission::K2 { campaign: 1 }, 201367065, &c),
    );
    let curve = read_one(&path, &ReadOptions::default()).unwrap();
    assert_eq!((curve.target.as_str(), curve.mission.as_deref()), ("EPIC 201367065", Some("K2")));
    let errs = curve.flux_err.unwrap();
    assert!((errs[0] / 1e-4 - 1.0).abs() < 5e-3, "{}", errs[0]);
}

#[test]
fn sap_flux_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = kepler_quarters(dir.path()).remove(2);
    let sap = ReadOptions { flux: FluxColumn::Sap, ..ReadOptions::default() };
    let part = read_file(&path, &sap).unwrap();
    assert_eq!(part.source.flux_column, "SAP_FLUX");
    let pdc = read_file(&path, &ReadOptions::default()).unwrap();
    assert!((part.flux[0] / pdc.flux[0] - 0.97).abs() < 1e-5);
}

#[test]
fn quality_masks_follow_the_mission() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cadences::steady(1325.3, 2.0 / 1440.0, 200, 30000.0);
    c.quality[5] = 128; // TESS: manual exclude (dropped); Kepler: cosmic ray (kept)
    c.quality[6] = 2048; // stray light: kept by default
    let name = "tess2018206045859-s0001-0000000261136679-0120-s_lc.fits";
    let path = write(dir.path(), name, &mast_file(Mission::Tess { sector: 1 }, 261136679, &c));
    let tess = read_one(&path, &ReadOptions::default()).unwrap();
    assert_eq!((tess.target.as_str(), tess.mission.as_deref()), ("TIC 261136679", Some("TESS")));
    assert_eq!((tess.parts[0].flagged, tess.parts[0].segment.as_deref()), (1, Some("S1")));
    let hardest =
        read_one(&path, &ReadOptions { quality: QualityMask::Hardest, ..ReadOptions::default() }).unwrap();
    assert_eq!(hardest.parts[0].flagged, 2);
    let none =
        read_one(&path, &ReadOptions { quality: QualityMask::None, ..ReadOptions::default() }).unwrap();
    assert_eq!(none.time.len(), 200);

    let kepler =
        write(dir.path(), "kplr000000042-x_llc.fits", &mast_file(Mission::Kepler { quarter: 1 }, 42, &c));
    assert_eq!(read_one(&kepler, &ReadOptions::default()).unwrap().parts[0].flagged, 0);
}

#[test]
fn text_tables_and_fits_mix_in_one_data_set_with_labels() {
    let dir = tempfile::tempdir().unwrap();
    kepler_quarters(dir.path());
    write(dir.path(), "star-b.csv", b"# time,flux,flux_err\n1,1.0,0.01\n2,1.1,0.02\n3,0.9,0.01\n");
    write(dir.path(), "star-c.dat", b"2457000.1 10.0 0.01 K2\n2457000.2 10.2 0.01 K2\n");
    write(dir.path(), "README.md", b"not a light curve");
    let labels = write(dir.path(), "labels.csv", b"target,label\nKIC1234,planet\nstar-b,not planet\n");
    let targets = list_targets(dir.path().to_str().unwrap(), Some(&labels)).unwrap();
    let summary: Vec<_> =
        targets.iter().map(|t| (t.target.as_str(), t.files.len(), t.label.as_deref())).collect();
    assert_eq!(
        summary,
        [("KIC 1234", 3, Some("planet")), ("star-b", 1, Some("not planet")), ("star-c", 1, None)]
    );
    for t in &targets {
        assert_well_formed(&read_target(t, &ReadOptions::default()).unwrap());
    }
    // a glob picks files the same way
    let glob = format!("{}/star-*", dir.path().display());
    assert_eq!(list_targets(&glob, None).unwrap().len(), 2);
}

#[test]
fn every_real_file_reads() {
    for dir in ["kepler", "k2", "tess"] {
        let targets = list_targets(shared(dir).to_str().unwrap(), None).unwrap();
        for t in &targets {
            let c = read_target(t, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
            assert_well_formed(&c);
            assert!(c.time.len() > 1000, "{}: {} points", c.target, c.time.len());
            let mut flux = c.flux.clone();
            flux.sort_by(f64::total_cmp);
            assert!((flux[flux.len() / 2] - 1.0).abs() < 0.01, "{}", c.target);
        }
    }
    let kepler = list_targets(shared("kepler").to_str().unwrap(), None).unwrap();
    let kepler90: Vec<_> = kepler.iter().filter(|t| t.target == "KIC 11442793").collect();
    assert_eq!(kepler90.len(), 1);
    let c = read_target(kepler90[0], &ReadOptions::default()).unwrap();
    assert_eq!((c.files.len(), c.mission.as_deref()), (3, Some("Kepler")));
    assert_eq!(c.parts.iter().map(|p| p.segment.clone().unwrap()).collect::<Vec<_>>(), ["Q3", "Q4", "Q5"]);
    // BKJD: Kepler quarters 3 to 5 run from about day 260 to day 538
    assert!(c.time[0] > 250.0 && *c.time.last().unwrap() < 540.0);
    let pi_men = read_one(&shared("tess/PiMen_S1_2min.csv"), &ReadOptions::default()).unwrap();
    assert_eq!(pi_men.time.len(), 16_697);
    assert!(pi_men.flux_err.is_none(), "the file's error column is a placeholder 1");
}

// Bad input: each message names the file and where in it.

#[test]
fn a_truncated_fits_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let whole = mast_file(Mission::Kepler { quarter: 3 }, 7, &Cadences::steady(0.0, 0.02, 500, 100.0));
    // primary header: 1 block; table header: 2 blocks; table: 500 rows of 100 bytes
    for (cut, expect) in [
        (2880 * 3 + 1000, "the file is truncated: the LIGHTCURVE table needs 50000 bytes from byte 8640"),
        (2880 * 2, "the file is truncated: it ends inside extension 1's header"),
        (whole.len() - 2880 + 30, "the file is truncated: the APERTURE extension needs 64 bytes"),
        (500, "the file is truncated: it ends inside the primary header"),
    ] {
        let path = write(dir.path(), "cut.fits", &whole[..cut]);
        let e = error(&path);
        assert!(e.starts_with(&path.display().to_string()) && e.contains(expect), "{e}");
        assert!(e.contains("Download the file again"), "{e}");
    }
}

#[test]
fn a_fits_file_without_a_light_curve_table_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = primary(identity(Mission::Kepler { quarter: 1 }, 7));
    bytes.extend(aperture());
    let path = write(dir.path(), "tpf.fits", &bytes);
    let e = error(&path);
    assert!(e.contains("tpf.fits: has no light-curve table") && e.contains("it has: APERTURE"), "{e}");
}

#[test]
fn a_missing_flux_column_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let c = Cadences::steady(0.0, 0.02, 10, 100.0);
    let columns: Vec<_> = mast_columns(Mission::Kepler { quarter: 1 }, &c)
        .into_iter()
        .filter(|col| !col.name.starts_with("PDCSAP"))
        .collect();
    let mut bytes = primary(identity(Mission::Kepler { quarter: 1 }, 7));
    bytes.extend(bintable("LIGHTCURVE", &columns));
    let path = write(dir.path(), "nopdc.fits", &bytes);
    let e = error(&path);
    assert!(
        e.contains("nopdc.fits: the LIGHTCURVE table has no column PDCSAP_FLUX (it has TIME, TIMECORR"),
        "{e}"
    );
    assert!(e.contains("pass --flux sap"), "{e}");
    let sap = ReadOptions { flux: FluxColumn::Sap, ..ReadOptions::default() };
    assert_eq!(read_one(&path, &sap).unwrap().time.len(), 10);
}

#[test]
fn only_nan_flux_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cadences::steady(0.0, 0.02, 30, 100.0);
    c.flux = vec![f64::NAN; 30];
    c.quality[0] = 1;
    let path =
        write(dir.path(), "kplr000000007-1_llc.fits", &mast_file(Mission::Kepler { quarter: 1 }, 7, &c));
    let e = error(&path);
    assert!(
        e.contains("kplr000000007-1_llc.fits: no usable point in column PDCSAP_FLUX: of 30 rows, 29 have a non-finite time or flux and 1 are flagged"),
        "{e}"
    );
}

/// The message for a data set of one file, `name` holding `bytes`.
fn error_for(name: &str, bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    error(&write(dir.path(), name, bytes))
}

#[test]
fn a_file_whose_name_and_header_disagree_is_named() {
    let c = Cadences::steady(0.0, 0.02, 10, 100.0);
    let e = error_for("kplr000000008-1_llc.fits", &mast_file(Mission::Kepler { quarter: 1 }, 9, &c));
    assert!(
        e.contains("kplr000000008-1_llc.fits: the file name says target KIC 8, but its header says KIC 9"),
        "{e}"
    );
}

#[test]
fn text_with_a_non_numeric_time_or_a_single_point_is_named() {
    let e = error_for("star.csv", b"time,flux\n1.0,1.0\n2.0,1.0\n2O24-01-01,1.0\n");
    assert!(e.contains("star.csv: line 4, column 1 (\"time\"): \"2O24-01-01\" is not a number"), "{e}");
    let e = error_for("one.csv", b"# time,flux\n1.0,1.0\n");
    assert!(e.contains("one.csv: only 1 usable point(s)"), "{e}");
}

#[test]
fn a_label_for_a_target_without_files_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.csv", b"1,1\n2,1\n");
    let labels = write(dir.path(), "labels.csv", b"target,label\na,1\nKepler-90,2\n");
    let e = list_targets(dir.path().to_str().unwrap(), Some(&labels)).unwrap_err().to_string();
    assert!(e.contains("labels.csv: line 3: target \"Kepler-90\" has no light-curve file in"), "{e}");
    let twice = write(dir.path(), "twice.csv", b"a,1\nA,2\n");
    let e = list_targets(dir.path().join("a.csv").to_str().unwrap(), Some(&twice)).unwrap_err().to_string();
    assert!(e.contains("twice.csv: line 2: target \"A\" is labelled again (first on line 1)"), "{e}");
}

#[test]
fn a_path_with_no_light_curves_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let e = list_targets(dir.path().join("nowhere").to_str().unwrap(), None).unwrap_err().to_string();
    assert!(e.contains("nowhere: no such file or directory"), "{e}");
    write(dir.path(), "notes.md", b"x");
    let e = list_targets(dir.path().to_str().unwrap(), None).unwrap_err().to_string();
    assert!(e.contains("holds no light-curve file"), "{e}");
    let e = list_targets(&format!("{}/*.fits", dir.path().display()), None).unwrap_err().to_string();
    assert!(e.contains("matches no file"), "{e}");
}

#[test]
fn inspect_prints_each_target_and_names_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    kepler_quarters(dir.path());
    let inspect = || {
        Command::cargo_bin("starskope").unwrap().args(["inspect", "--data"]).arg(dir.path()).output().unwrap()
    };
    let out = inspect();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("KIC 1234\tKepler\t3 file(s) (Q3, Q4, Q5)\t1147 points"), "{stdout}");
    write(dir.path(), "bad.csv", b"time,flux\nx,1\n");
    let out = inspect();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("bad.csv: line 2, column 1 (\"time\"): \"x\" is not a number")
            && stderr.contains("1 failed"),
        "{stderr}"
    );
}

/// `train --train DIR --labels T`: light-curve files of any length train as `eval` then
/// scores them (named labels too); without the table, the error says what to give.
#[test]
fn train_takes_light_curve_files_with_a_labels_table() {
    let dir = tempfile::tempdir().unwrap();
    let curves = dir.path().join("curves");
    std::fs::create_dir(&curves).unwrap();
    let mut labels = String::from("target,label\n");
    for star in 0..6 {
        let hosts_planet = star % 2 == 0;
        let mut text = String::from("time,flux\n");
        for k in 0..(700 + 150 * star) {
            let t = 100.0 + f64::from(k) * 0.020434;
            let ripple = 1e-3 * (f64::from(k * (star + 3)) * 0.37).sin();
            let transit = if hosts_planet && (t % 3.1) < 0.12 { 5e-3 } else { 0.0 };
            text.push_str(&format!("{t},{}\n", 1.0 + ripple - transit));
        }
        write(&curves, &format!("star{star}.csv"), text.as_bytes());
        labels.push_str(&format!("star{star},{}\n", if hosts_planet { "planet" } else { "star" }));
    }
    let labels = write(dir.path(), "labels.csv", labels.as_bytes());
    let model = write(
        dir.path(),
        "tiny.json",
        br#"{"name": "tiny", "layers": [
            {"type": "conv1d", "filters": 4, "kernel": 5, "activation": "relu"},
            {"type": "max_pool", "pool": 4, "stride": 4}, {"type": "flatten"},
            {"type": "dense", "units": 8, "activation": "relu"}]}"#,
    );
    let run = |args: &[&std::ffi::OsStr]| {
        Command::cargo_bin("starskope").unwrap().env("NODEVICE_SELECT", "1").args(args).output().unwrap()
    };
    let out = dir.path().join("run");
    let train = |with_labels: bool| {
        let mut args = vec!["train".as_ref(), "--device".as_ref(), "cpu".as_ref(), "--model".as_ref()];
        args.extend([model.as_os_str(), "--train".as_ref(), curves.as_os_str(), "--epochs".as_ref()]);
        args.extend(["1".as_ref(), "--out".as_ref(), out.as_os_str()]);
        if with_labels {
            args.extend(["--labels".as_ref(), labels.as_os_str()]);
        }
        run(&args)
    };
    let missing = train(false);
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("curves: light-curve files need --labels: a table of target,label"), "{stderr}");

    let trained = train(true);
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
    let stderr = String::from_utf8_lossy(&trained.stderr);
    assert!(stderr.contains("on 6 rows of length 3197 (2 classes)"), "{stderr}");
    let checkpoint = out.join("model.safetensors");
    let eval = run(&[
        "eval".as_ref(),
        "--device".as_ref(),
        "cpu".as_ref(),
        "--model".as_ref(),
        checkpoint.as_os_str(),
        "--data".as_ref(),
        curves.as_os_str(),
        "--labels".as_ref(),
        labels.as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&eval.stdout);
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    assert!(stdout.contains("6 targets"), "{stdout}");
}
