//! Large inputs: a CSV is streamed into one matrix with room for the prepared channels
//! and prepared in that buffer, so the data exist once in memory; the results are the
//! same bits as reading into a data set and preparing a copy.
//!
//! This binary counts every heap allocation (a counting global allocator) to check the
//! bound; its tests take one lock so that none allocates while another measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use starskope::data::{
    read_csv, read_csv_report, read_csv_with_room, Dataset, NanPolicy, Preprocess, ReadOptions,
};
use starskope::transit::Detection;

mod common;
use common::{random_dataset, to_csv, write_csv};

/// The system allocator, keeping the bytes live now and the most live since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::SeqCst) + bytes;
    PEAK.fetch_max(live, Ordering::SeqCst);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }

    // Forwarded, not the default alloc-copy-free, so that growing a buffer counts as what
    // the program asked for (old + new only if the allocator really must copy).
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::SeqCst);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Held by every test of this binary.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The result of `f` and the most bytes it had allocated at once beyond what was live before.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let out = f();
    (out, PEAK.load(Ordering::SeqCst) - before)
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// The preprocessing modes: the notebook's two channels, raw, smoothing alone, and the
/// transit search (whiten, box search, fold).
fn modes() -> Vec<Preprocess> {
    vec![
        Preprocess::default(),
        Preprocess::Plain { standardize: false, smooth_window: None },
        Preprocess::Plain { standardize: false, smooth_window: Some(7) },
        Preprocess::transit_search(Detection { min_snr: 8.0, min_snr_without_deepest: 7.0, planet_label: 2 }),
    ]
}

#[test]
fn reading_and_preparing_hold_the_data_once() {
    let _serial = serial();
    let (rows, len) = (3000, 400);
    let want = random_dataset(&mut ChaCha8Rng::seed_from_u64(20), rows, len, &[1, 2]);
    let (_dir, path) = write_csv(to_csv(&want, true, "\n").as_bytes());
    drop(want);
    let file_bytes = std::fs::metadata(&path).unwrap().len() as usize;
    let pre = Preprocess::default();
    let channels = pre.channels();
    let matrix = 4 * channels * rows * len;
    let ((prepared, labels), peak) = peak_of(|| {
        let (ds, _) = read_csv_with_room(&path, &ReadOptions::default(), channels).unwrap();
        let labels = ds.labels.clone();
        (pre.apply_owned(ds), labels)
    });
    assert_eq!(prepared.values.len(), matrix / 4);
    // Besides the matrix: labels (8 B a row, twice here), box S/N (4 B a row), the csv and
    // line-count buffers (256 KiB each, one at a time), one record, one row of scratch per
    // thread.
    let slack = 20 * rows + (1 << 20);
    assert!(
        peak <= matrix + slack,
        "peak {peak} B > prepared matrix {matrix} B + {slack} B (the file is {file_bytes} B)"
    );
    // The counter saw the matrix: the bound above is not vacuous.
    assert!(peak >= matrix, "peak {peak} B < matrix {matrix} B: the allocator is not counting");
    assert!(
        file_bytes > 2 * slack,
        "the file ({file_bytes} B) must dwarf the slack for the test to mean anything"
    );
    assert_eq!(labels.len(), rows);
    eprintln!("peak {peak} B: matrix {matrix} B + {} B; file {file_bytes} B", peak - matrix);
}

#[test]
fn prepared_in_place_matches_the_copy_bit_for_bit() {
    let _serial = serial();
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for (i, pre) in modes().into_iter().enumerate() {
        let want = random_dataset(&mut rng, 13, 300, &[1, 2, 5]);
        let (_dir, path) = write_csv(to_csv(&want, true, if i % 2 == 0 { "\n" } else { "\r\n" }).as_bytes());
        let reference = pre.apply(&read_csv(&path, &ReadOptions::default()).unwrap());
        assert_eq!(reference.len(), 13 * pre.channels() * 300);
        let (roomy, _) = read_csv_with_room(&path, &ReadOptions::default(), pre.channels()).unwrap();
        let same =
            (&roomy.labels, &roomy.len, bits(&roomy.values)) == (&want.labels, &want.len, bits(&want.values));
        assert!(same, "{pre:?}: room must not change what is read");
        assert!(roomy.values.capacity() >= reference.len(), "{pre:?}: no room reserved");
        let streamed = pre.apply_owned(roomy);
        assert_eq!(bits(&streamed.values), bits(&reference), "{pre:?}");
        // A data set with no room (the synthetic generator's) grows its buffer, same bits.
        assert_eq!(bits(&pre.apply_owned(want).values), bits(&reference), "{pre:?} without room");
    }
}

#[test]
fn dropped_rows_give_back_their_room_and_the_rest_prepare_alike() {
    let _serial = serial();
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let want = random_dataset(&mut rng, 40, 64, &[1, 2]);
    let (dir, path) = write_csv(to_csv(&want, true, "\n").as_bytes());
    // Every other data row gets a missing sample, so --nan drop keeps half of the rows.
    let lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let mut cells: Vec<&str> = line.split(',').collect();
            if i % 2 == 1 {
                cells[1 + i % 60] = "nan";
            }
            cells.join(",")
        })
        .collect();
    let path = dir.path().join("gappy.csv");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let opts = ReadOptions { nan: NanPolicy::Drop };
    let pre = Preprocess::default();
    let (ds, report) = read_csv_with_room(&path, &opts, pre.channels()).unwrap();
    assert_eq!(report.dropped_rows, 20);
    assert_eq!(ds.rows(), 20);
    let room = 20 * 64 * pre.channels();
    let capacity = ds.values.capacity();
    assert!(
        (room..2 * room).contains(&capacity),
        "capacity {capacity}: room for the kept rows only ({room})"
    );
    let reference = pre.apply(&read_csv(&path, &opts).unwrap());
    assert_eq!(bits(&pre.apply_owned(ds).values), bits(&reference));
}

#[test]
fn split_off_rows_keeps_the_rest_in_order() {
    let _serial = serial();
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let full = random_dataset(&mut rng, 50, 33, &[1, 2, 3]);
    let (train, val) = starskope::data::stratified_split(&full.labels, 0.3, 7).unwrap();
    let mut kept = full.clone();
    // The room a reader leaves for two channels.
    kept.values.reserve_exact(full.values.len());
    let split = kept.split_off_rows(&val, 2);
    let rows_of = |rows: &[usize]| Dataset {
        source: full.source.clone(),
        labels: rows.iter().map(|&r| full.labels[r].clone()).collect(),
        values: rows.iter().flat_map(|&r| full.series(r).to_vec()).collect(),
        len: full.len,
    };
    assert_eq!(split, rows_of(&val));
    assert_eq!(kept, rows_of(&train));
    assert!(split.values.capacity() >= 2 * split.values.len(), "the split-off rows have their room");
    assert!(kept.values.capacity() >= 2 * kept.values.len(), "the kept rows keep their room");
}

#[test]
fn a_named_pipe_reads_like_the_file() {
    let _serial = serial();
    let want = random_dataset(&mut ChaCha8Rng::seed_from_u64(24), 30, 50, &[1, 2]);
    let (dir, path) = write_csv(to_csv(&want, true, "\n").as_bytes());
    let fifo = dir.path().join("stars.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    // A pipe cannot be measured first: its matrix grows as rows arrive.
    let writer = {
        let (from, to) = (path.clone(), fifo.clone());
        std::thread::spawn(move || std::fs::write(&to, std::fs::read(&from).unwrap()).unwrap())
    };
    let (got, report) = read_csv_report(Path::new(&fifo), &ReadOptions::default()).unwrap();
    writer.join().unwrap();
    assert_eq!((got.labels, got.values, got.len), (want.labels, want.values, want.len));
    assert_eq!(report.header.map(|h| h.len()), Some(51));
}
