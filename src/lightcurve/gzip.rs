//! Light-curve files kept gzip-compressed (`*_llc.fits.gz`, `*.csv.gz`), as archives and
//! bulk downloads often hand them out: read by their first two bytes, whatever the name.

use std::io::Read;

use flate2::read::MultiGzDecoder;

use super::LightCurveError;

/// gzip's magic number (RFC 1952).
const MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether `bytes` start as a gzip stream does.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// The file `name`'s bytes, decompressed where they are a gzip stream (all its members,
/// as `gunzip` reads them) and as they are otherwise.
pub fn decompressed(name: &str, bytes: Vec<u8>) -> Result<Vec<u8>, LightCurveError> {
    if !is_gzip(&bytes) {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() * 4);
    MultiGzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| LightCurveError::BadGzip { path: name.to_string(), what: e.to_string() })?;
    Ok(out)
}

/// The name without a final `.gz`: what says which kind of file the stream holds.
pub fn without_gz(name: &str) -> &str {
    match name.len().checked_sub(3) {
        Some(cut) if name.is_char_boundary(cut) && name[cut..].eq_ignore_ascii_case(".gz") => &name[..cut],
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn compressed_bytes_come_back_and_plain_ones_pass_through() {
        let text = b"1.0,1.0\n2.0,0.9\n".repeat(100);
        let packed = gzip(&text);
        assert!(is_gzip(&packed) && !is_gzip(&text));
        assert_eq!(decompressed("a.csv.gz", packed).unwrap(), text);
        assert_eq!(decompressed("a.csv", text.clone()).unwrap(), text);
    }

    #[test]
    fn a_cut_stream_is_named() {
        let packed = gzip(&b"SIMPLE  =                    T".repeat(200));
        let e = decompressed("lc_llc.fits.gz", packed[..packed.len() / 2].to_vec()).unwrap_err().to_string();
        assert!(e.starts_with("lc_llc.fits.gz: not a readable gzip file"), "{e}");
    }

    #[test]
    fn only_a_final_gz_is_dropped() {
        assert_eq!(without_gz("kplr1_llc.fits.gz"), "kplr1_llc.fits");
        assert_eq!(without_gz("a.GZ"), "a");
        assert_eq!(without_gz("a.gzip"), "a.gzip");
        assert_eq!(without_gz("gz"), "gz");
    }
}
