use starskope::cpu::CpuBackend;
use starskope::train::run::{train, TrainArgs};
#[test]
fn scratch() {
    let dir = std::env::temp_dir().join("scratch-ecg");
    let _ = std::fs::remove_dir_all(&dir);
    let args = TrainArgs {
        train: Some("../shared/data/ECG200_TRAIN.csv".into()),
        test: Some("../shared/data/ECG200_TEST.csv".into()),
        model: "fcn".into(),
        epochs: Some(std::env::var("EPOCHS").map(|e| e.parse().unwrap()).unwrap_or(5)),
        seed: 42,
        out: dir.clone(),
        ..Default::default()
    };
    let mut be = CpuBackend::new();
    let r = train(&args, &mut be).unwrap();
    println!("{}", r.render());
}
