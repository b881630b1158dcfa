//! Byte layouts of keys and values.
//!
//! Invariants:
//! - Every value stored in any table is `seal(key, payload)`: an xxh3-64 of
//!   key and payload (8 bytes, little endian) followed by the payload. `open`
//!   verifies it, so a damaged record is `CORRUPTION` naming the record and
//!   never returned as data.
//! - Integers inside keys are big endian so LMDB's byte order is numeric order.
//! - Integers in payloads are fixed-width little endian (never `usize`).

use crate::error::{Error, Result};
use xxhash_rust::xxh3::Xxh3;

const SUM_LEN: usize = 8;

fn checksum(key: &[u8], payload: &[u8]) -> u64 {
    let mut h = Xxh3::new();
    h.update(key);
    h.update(payload);
    h.digest()
}

/// Frames `payload` with the checksum of `(key, payload)`.
pub fn seal(key: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SUM_LEN + payload.len());
    out.extend_from_slice(&checksum(key, payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Verifies a sealed value and returns its payload. `what` names the record
/// in the error (for example `node "n1"` or `table nodes key 0x…`).
pub fn open<'a>(key: &[u8], value: &'a [u8], what: impl FnOnce() -> String) -> Result<&'a [u8]> {
    if value.len() < SUM_LEN {
        return Err(Error::corruption(format!("{} is truncated ({} bytes)", what(), value.len())));
    }
    let (sum, payload) = value.split_at(SUM_LEN);
    let stored = u64::from_le_bytes(sum.try_into().expect("8 bytes"));
    if stored != checksum(key, payload) {
        return Err(Error::corruption(format!("checksum mismatch in {}", what())));
    }
    Ok(payload)
}

/// Hex of a key, for error messages about records with no readable name.
pub fn hex(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn u64_key(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

pub fn read_u64_be(b: &[u8]) -> u64 {
    u64::from_be_bytes(b[..8].try_into().expect("8 bytes"))
}

/// Appends to a payload being built.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.u32(u32::try_from(s.len()).expect("strings are validated below 4 GiB"));
        self.buf.extend_from_slice(s.as_bytes());
        self
    }
    /// The rest of the payload, unprefixed.
    pub fn tail(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }
}

/// Reads a payload written by [`Writer`]; every read is bounds-checked and a
/// short payload is `CORRUPTION`.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(Error::corruption("record payload is shorter than its layout")),
        }
    }
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    pub fn str(&mut self) -> Result<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).map_err(|_| Error::corruption("record holds invalid UTF-8"))
    }
    pub fn tail(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_detects_damage() {
        let sealed = seal(b"k", b"payload");
        assert_eq!(open(b"k", &sealed, || "r".into()).unwrap(), b"payload");
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(open(b"k", &bad, || "r".into()).unwrap_err().code, crate::Code::Corruption);
        // The same value under another key is damage too: records cannot move.
        assert!(open(b"other", &sealed, || "r".into()).is_err());
        assert!(open(b"k", &sealed[..4], || "r".into()).is_err());
    }

    #[test]
    fn reader_is_bounds_checked() {
        let mut w = Writer::default();
        w.str("hello").u64(7);
        let mut r = Reader::new(&w.buf[..6]);
        assert!(r.str().is_err());
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.str().unwrap(), "hello");
        assert_eq!(r.u64().unwrap(), 7);
    }
}

/// Properties over arbitrary bytes: a decoder of stored data answers `Ok`
/// or `CORRUPTION`, never panics; what the encoders write reads back.
#[cfg(test)]
mod props {
    use super::*;
    use crate::Code;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn open_takes_any_bytes(key in any::<Vec<u8>>(), value in any::<Vec<u8>>()) {
            if let Err(e) = open(&key, &value, || "r".into()) {
                prop_assert_eq!(e.code, Code::Corruption);
            }
        }

        #[test]
        fn sealed_payloads_open_and_any_flipped_bit_is_caught(key in any::<Vec<u8>>(), payload in any::<Vec<u8>>(), bit in any::<prop::sample::Index>()) {
            let sealed = seal(&key, &payload);
            prop_assert_eq!(open(&key, &sealed, || "r".into()).unwrap(), &payload[..]);
            let mut damaged = sealed.clone();
            let at = bit.index(damaged.len() * 8);
            damaged[at / 8] ^= 1 << (at % 8);
            prop_assert_eq!(open(&key, &damaged, || "r".into()).unwrap_err().code, Code::Corruption);
        }

        #[test]
        fn reader_takes_any_bytes(bytes in any::<Vec<u8>>(), reads in prop::collection::vec(0u8..6, 0..12)) {
            let mut r = Reader::new(&bytes);
            for op in reads {
                let outcome = match op {
                    0 => r.u32().map(drop),
                    1 => r.u64().map(drop),
                    2 => r.i64().map(drop),
                    3 => r.f64().map(drop),
                    4 => r.str().map(drop),
                    _ => {
                        r.tail();
                        Ok(())
                    }
                };
                if let Err(e) = outcome {
                    prop_assert_eq!(e.code, Code::Corruption);
                }
            }
        }

        #[test]
        fn writer_output_reads_back(a in any::<u32>(), b in any::<u64>(), c in any::<i64>(), d in any::<f64>(), s in any::<String>(), tail in any::<Vec<u8>>()) {
            let mut w = Writer::default();
            w.u32(a).u64(b).i64(c).f64(d).str(&s).tail(&tail);
            let mut r = Reader::new(&w.buf);
            prop_assert_eq!(r.u32().unwrap(), a);
            prop_assert_eq!(r.u64().unwrap(), b);
            prop_assert_eq!(r.i64().unwrap(), c);
            prop_assert_eq!(r.f64().unwrap().to_bits(), d.to_bits());
            prop_assert_eq!(r.str().unwrap(), s.as_str());
            prop_assert_eq!(r.tail(), &tail[..]);
        }
    }
}
