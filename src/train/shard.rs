//! `predict --shard K/N` and `merge`: the K-th of N parts of predict's input, and the
//! parts' outputs joined back into the file one unsharded run writes, byte for byte.
//!
//! A part is a contiguous block of the input's rows (CSV rows, or targets in the order of
//! the sorted file list), block K starting at row `K * total / N`: the blocks differ in size
//! by at most one, and the merged file is the parts' rows one after the other, so `merge`
//! streams them and never sorts or holds them. (Round-robin parts would balance a file list
//! whose costly targets cluster, at the price of interleaving every row at the merge.)
//!
//! A part's first line says which block it holds (`# starskope shard 1/4 rows 25..50 of
//! 100`), before predict's own header and rows: `merge` checks with it that the parts come
//! from one input cut the same way, and that together they hold every row once.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};

use crate::train::atomic_file::AtomicFile;

/// The K-th (0-based) of N parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole input: the one part of one.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// This part's rows of `total`.
    pub fn rows(self, total: usize) -> Range<usize> {
        let start = |k: usize| (k as u128 * total as u128 / self.count as u128) as usize;
        start(self.index)..start(self.index + 1)
    }

    /// The line a part starts with; `total` rows in the whole input.
    pub fn marker(self, total: usize) -> String {
        let rows = self.rows(total);
        format!("{MARKER} {self} rows {}..{} of {total}", rows.start, rows.end)
    }
}

const MARKER: &str = "# starskope shard";

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let usage = "give K/N, the K-th of N parts counted from 0 (0/4, 1/4, 2/4, 3/4; in a Slurm array \
                     $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)";
        let (k, n) = s.split_once('/').ok_or_else(|| format!("{s:?} is not K/N: {usage}"))?;
        let number = |what: &str, v: &str| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| format!("{s:?}: {what} {v:?} is not a whole number: {usage}"))
        };
        let (index, count) = (number("K", k)?, number("N", n)?);
        if count == 0 {
            return Err(format!("{s:?}: N must be at least 1: {usage}"));
        }
        if index >= count {
            return Err(format!("{s:?}: K must be below N (parts are counted from 0): {usage}"));
        }
        Ok(Shard { index, count })
    }
}

/// One part file: which block of how many rows it says it holds.
struct Part {
    path: PathBuf,
    shard: Shard,
    total: usize,
    header: String,
    lines: std::io::Lines<BufReader<File>>,
}

impl Part {
    fn open(path: &Path) -> Result<Part> {
        let name = path.display();
        let file = File::open(path).with_context(|| format!("cannot read {name}"))?;
        let mut lines = BufReader::new(file).lines();
        let mut next = |what: &str| -> Result<String> {
            match lines.next() {
                Some(line) => line.with_context(|| format!("cannot read {name}")),
                None => {
                    bail!("{name} ends before its {what}: give the files `starskope predict --shard` wrote")
                }
            }
        };
        let first = next("first line")?;
        let (shard, rows, total) = parse_marker(&first).with_context(|| {
            format!(
                "{name}, line 1: {first:?} is not the line a part starts with (\"{MARKER} K/N rows A..B of T\"): \
                 give the files `starskope predict --shard` wrote"
            )
        })?;
        if shard.rows(total) != rows {
            bail!(
                "{name}, line 1: shard {shard} of {total} rows holds rows {:?}, not {rows:?}: the line was edited",
                shard.rows(total)
            );
        }
        let header = next("header (line 2)")?;
        Ok(Part { path: path.to_path_buf(), shard, total, header, lines })
    }
}

fn parse_marker(line: &str) -> Option<(Shard, Range<usize>, usize)> {
    let words: Vec<&str> = line.strip_prefix(MARKER)?.split_whitespace().collect();
    let [shard, "rows", rows, "of", total] = words[..] else { return None };
    let (start, end) = rows.split_once("..")?;
    Some((shard.parse().ok()?, start.parse().ok()?..end.parse().ok()?, total.parse().ok()?))
}

/// Joins `parts`, given in any order, into `out`: the header once, then each part's rows in
/// shard order. Every shard of one cut of one input must be there exactly once, with the
/// same header and as many rows as its block holds. Returns the number of rows written.
pub fn merge(parts: &[PathBuf], out: &Path) -> Result<usize> {
    let mut parts = parts.iter().map(|p| Part::open(p)).collect::<Result<Vec<_>>>()?;
    let Some(first) = parts.first() else { bail!("merge needs at least one part file") };
    let (count, total, header) = (first.shard.count, first.total, first.header.clone());
    let first_name = first.path.display().to_string();
    for p in &parts[1..] {
        let name = p.path.display();
        if p.shard.count != count || p.total != total {
            bail!(
                "{name} is shard {} of an input of {} rows, but {first_name} is shard {} of {total} rows: \
                 give the parts of one run of one input, cut into the same number of parts",
                p.shard,
                p.total,
                first.shard
            );
        }
        if p.header != header {
            bail!(
                "{name}, line 2: its header {:?} differs from {first_name}'s {header:?}: give the parts of one \
                 model's predictions, made with the same options",
                p.header
            );
        }
    }
    parts.sort_by_key(|p| p.shard.index);
    for pair in parts.windows(2) {
        if pair[0].shard == pair[1].shard {
            bail!(
                "{} and {} are both shard {}: their rows overlap; give each part once",
                pair[0].path.display(),
                pair[1].path.display(),
                pair[0].shard
            );
        }
    }
    if parts.len() != count {
        let given: Vec<usize> = parts.iter().map(|p| p.shard.index).collect();
        let missing: Vec<String> = (0..count)
            .filter(|k| !given.contains(k))
            .map(|k| {
                let s = Shard { index: k, count };
                format!("{s} (rows {:?})", s.rows(total))
            })
            .collect();
        bail!(
            "no part holds shard {}: run `starskope predict --shard` for it and give its file too",
            missing.join(", ")
        );
    }
    let mut file = AtomicFile::create(out)?;
    writeln!(file.writer, "{header}")?;
    for part in parts {
        let expected = part.shard.rows(total).len();
        let mut rows = 0;
        for line in part.lines {
            let line = line.with_context(|| format!("cannot read {}", part.path.display()))?;
            writeln!(file.writer, "{line}")?;
            rows += 1;
        }
        if rows != expected {
            bail!(
                "{} has {rows} rows, but shard {} holds {expected} (rows {:?} of {total}): the file is cut short or \
                 was edited; run its shard again",
                part.path.display(),
                part.shard,
                part.shard.rows(total)
            );
        }
    }
    file.commit()?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_tile_the_input_and_differ_by_at_most_one_row() {
        for total in [0, 1, 5, 7, 100, 1001] {
            for count in 1..=9 {
                let mut next = 0;
                for index in 0..count {
                    let rows = Shard { index, count }.rows(total);
                    assert_eq!(rows.start, next);
                    assert!(rows.len() == total / count || rows.len() == total / count + 1);
                    next = rows.end;
                }
                assert_eq!(next, total);
            }
        }
        assert_eq!(Shard::WHOLE.rows(42), 0..42);
    }

    #[test]
    fn shards_parse_and_bad_ones_say_what_to_give() {
        assert_eq!("3/4".parse(), Ok(Shard { index: 3, count: 4 }));
        for (bad, says) in [
            ("4/4", "K must be below N"),
            ("1/0", "N must be at least 1"),
            ("2", "is not K/N"),
            ("-1/4", "\"-1\" is not a whole number"),
            ("a/b", "is not a whole number"),
            ("", "is not K/N"),
        ] {
            let err = bad.parse::<Shard>().unwrap_err();
            assert!(err.contains(says) && err.contains("counted from 0"), "{bad}: {err}");
        }
    }

    #[test]
    fn markers_round_trip() {
        let s = Shard { index: 2, count: 3 };
        assert_eq!(s.marker(10), "# starskope shard 2/3 rows 6..10 of 10");
        assert_eq!(parse_marker(&s.marker(10)), Some((s, 6..10, 10)));
        for bad in
            ["# starskope shard 2/3 rows 6..10 of", "# starskope shard 2/3 rows 6..10 of 10 x", "index,label"]
        {
            assert_eq!(parse_marker(bad), None, "{bad}");
        }
    }
}
