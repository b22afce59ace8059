//! A lost GPU device (here made lost with `Device::destroy`, as a driver reset would) is
//! an error naming the loss from every wait, within seconds: no hang, no panic.
//!
//! Each test opens its own device, since destroying it would break any test sharing it.

use std::time::{Duration, Instant};

use starskope::backend::Backend;
use starskope::backend::DeviceLost;
use starskope::gpu::{GpuBackend, GpuContext};

/// How long a wait on a lost device may take: the loss is looked at every 200 ms.
const PROMPT: Duration = Duration::from_secs(5);

fn fresh_backend() -> (GpuContext, GpuBackend) {
    let ctx = GpuContext::new().unwrap_or_else(|e| panic!("the GPU tests need a GPU adapter: {e:#}"));
    (ctx.clone(), GpuBackend::with_context(ctx))
}

#[test]
fn a_download_after_the_device_is_lost_is_an_error_naming_the_loss() {
    let (ctx, mut be) = fresh_backend();
    let t = be.alloc(1000);
    be.upload(t, &vec![1.5; 1000]);
    be.fill(t, 2.0);
    // the device works before: the wait and the readback succeed
    assert_eq!(be.try_download(t).unwrap(), vec![2.0; 1000]);
    assert!(ctx.lost().is_none());

    be.fill(t, 3.0);
    ctx.device.destroy();
    be.flush(); // no wait: must neither panic nor fail
    let started = Instant::now();
    let err = be.try_download(t).expect_err("a download from a lost device");
    assert!(started.elapsed() < PROMPT, "took {:?}", started.elapsed());
    let lost = err.downcast_ref::<DeviceLost>().unwrap_or_else(|| panic!("not a DeviceLost: {err:#}"));
    assert_eq!(lost.reason, "destroyed");
    assert!(err.to_string().starts_with("the GPU device was lost (destroyed): "), "{err}");
    assert_eq!(ctx.lost().as_ref(), Some(lost));

    // it stays lost: every later wait fails the same way, uploads and records do not panic
    be.upload(t, &vec![0.5; 1000]);
    be.fill(t, 4.0);
    assert_eq!(be.wait_idle().unwrap_err(), *lost);
    assert!(be.try_download(t).is_err());
}

#[test]
fn timing_on_a_lost_device_is_an_error() {
    let (ctx, mut be) = fresh_backend();
    let t = be.alloc(64);
    be.time_recorded(|b| b.fill(t, 1.0)).expect("the device works before");
    ctx.device.destroy();
    let started = Instant::now();
    let lost = be.time_recorded(|b| b.fill(t, 2.0)).unwrap_err();
    assert!(started.elapsed() < PROMPT, "took {:?}", started.elapsed());
    assert_eq!(lost.reason, "destroyed");
}

/// The numerical guard's search for the first non-finite tensor reads back every tensor:
/// on a lost device that is the loss's error, not a panic.
#[test]
fn the_non_finite_search_on_a_lost_device_is_an_error() {
    use starskope::model::plan::{input_dims, plan};
    use starskope::model::{resolve, Network};
    let (ctx, mut be) = fresh_backend();
    let spec = resolve("seed-lstm").unwrap();
    let output = spec.output(2).unwrap();
    let layers = plan(&spec, input_dims(&spec, 1, 20), output).unwrap();
    let net = Network::build(&mut be, &layers, output, 2).unwrap();
    // the device works before: freshly built tensors are zeros, all finite
    assert_eq!(net.first_non_finite(&mut be).unwrap(), None);
    ctx.device.destroy();
    let started = Instant::now();
    let err = net.first_non_finite(&mut be).expect_err("a search on a lost device");
    assert!(started.elapsed() < PROMPT, "took {:?}", started.elapsed());
    assert!(err.downcast_ref::<DeviceLost>().is_some(), "not a DeviceLost: {err:#}");
}

/// `starskope verify` on a lost device: the runner's error, not a panic. Its tensors are
/// created after the loss, and before any wait has seen it: allocation must notice it,
/// since a buffer created on a lost device is invalid and wgpu panics at its first use.
#[test]
fn verify_on_a_lost_device_is_an_error() {
    let golden = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/golden"));
    let (ctx, mut be) = fresh_backend();
    ctx.device.destroy();
    let err = starskope::verify::verify_dir(golden, &mut be).expect_err("verify on a lost device");
    assert!(format!("{err:#}").contains("the GPU device was lost (destroyed)"), "{err:#}");
}
