//! The byte format of every object a backup stores: zstd-compressed, then sealed in
//! AES-256-GCM frames.
//!
//! ```text
//! object = frame* final-frame
//! frame  = u32 big-endian length ‖ ciphertext (chunk of compressed bytes + 16-byte tag)
//! ```
//!
//! Each frame's nonce is the object's number in the backup and the frame's index, so no
//! nonce repeats under a backup's data key. The associated data binds a frame to its
//! backup, its object and its place, and marks the last one: a frame moved to another
//! object or position, a dropped frame or a truncated object fails to open, not only a
//! flipped byte. Memory stays at one chunk whatever the object's size.

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Key,
};
use sha2::{Digest, Sha256};

use super::BackupError;

/// Compressed bytes sealed per frame.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Plain bytes after which the compressor is flushed and a frame sealed however little it
/// compressed to, so that opening one frame never yields more than about this much:
/// without it, 1 MiB of very repetitive rows could expand to hundreds of MiB.
const PLAIN_PER_FRAME: u64 = 4 << 20;
/// The compression level: zstd's default, fast enough to keep up with COPY.
const ZSTD_LEVEL: i32 = 3;
const TAG_BYTES: usize = 16;
/// Larger frames are corrupt, not big: nothing writes them.
const MAX_FRAME_BYTES: usize = CHUNK_BYTES * 2 + TAG_BYTES;

/// A backup's 256-bit data key. Never stored: the manifest holds it wrapped.
#[derive(Clone)]
pub struct DataKey(pub(super) [u8; 32]);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl DataKey {
    pub fn random() -> Self {
        use rand::RngExt;
        Self(rand::rng().random())
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(self.0))
    }
}

/// Where a frame sits: which backup, which object of it, which frame.
#[derive(Debug, Clone)]
struct Place {
    backup_id: String,
    object: String,
    object_no: u32,
}

impl Place {
    fn new(backup_id: &str, object: &str, object_no: u32) -> Self {
        Self {
            backup_id: backup_id.to_owned(),
            object: object.to_owned(),
            object_no,
        }
    }

    fn nonce(&self, frame: u64) -> aes_gcm::aead::Nonce<Aes256Gcm> {
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&self.object_no.to_be_bytes());
        nonce[4..].copy_from_slice(&frame.to_be_bytes());
        aes_gcm::aead::Nonce::<Aes256Gcm>::from(nonce)
    }

    fn aad(&self, frame: u64, last: bool) -> Vec<u8> {
        let mut aad = Vec::with_capacity(self.backup_id.len() + self.object.len() + 10);
        aad.extend_from_slice(self.backup_id.as_bytes());
        aad.push(0);
        aad.extend_from_slice(self.object.as_bytes());
        aad.push(0);
        aad.extend_from_slice(&frame.to_be_bytes());
        aad.push(u8::from(last));
        aad
    }
}

/// Turns a stream of plain bytes into an object's bytes: compresses, seals full chunks
/// as frames, and hands them out as they are ready.
pub struct Sealer {
    cipher: Aes256Gcm,
    place: Place,
    frame: u64,
    zstd: zstd::stream::write::Encoder<'static, Vec<u8>>,
    plain_bytes: u64,
    /// Plain bytes taken since the last frame.
    plain_pending: u64,
}

impl Sealer {
    pub fn new(
        key: &DataKey,
        backup_id: &str,
        object: &str,
        object_no: u32,
    ) -> Result<Self, BackupError> {
        Ok(Self {
            cipher: key.cipher(),
            place: Place::new(backup_id, object, object_no),
            frame: 0,
            zstd: zstd::stream::write::Encoder::new(Vec::with_capacity(CHUNK_BYTES), ZSTD_LEVEL)
                .map_err(BackupError::codec)?,
            plain_bytes: 0,
            plain_pending: 0,
        })
    }

    /// Takes plain bytes; returns the frames they completed (often none).
    pub fn write(&mut self, plain: &[u8]) -> Result<Vec<u8>, BackupError> {
        use std::io::Write;
        self.plain_bytes += plain.len() as u64;
        self.plain_pending += plain.len() as u64;
        self.zstd.write_all(plain).map_err(BackupError::codec)?;
        let mut out = Vec::new();
        if self.plain_pending >= PLAIN_PER_FRAME {
            self.zstd.flush().map_err(BackupError::codec)?;
        }
        while self.zstd.get_ref().len() >= CHUNK_BYTES {
            let rest = self.zstd.get_mut().split_off(CHUNK_BYTES);
            let chunk = std::mem::replace(self.zstd.get_mut(), rest);
            self.seal(&chunk, false, &mut out)?;
            self.plain_pending = 0;
        }
        if self.plain_pending >= PLAIN_PER_FRAME {
            let chunk = std::mem::take(self.zstd.get_mut());
            self.seal(&chunk, false, &mut out)?;
            self.plain_pending = 0;
        }
        Ok(out)
    }

    /// Ends the object: the compressed tail and the final frame. Returns them and the
    /// count of plain bytes taken.
    pub fn finish(mut self) -> Result<(Vec<u8>, u64), BackupError> {
        let zstd = std::mem::replace(
            &mut self.zstd,
            zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)
                .map_err(BackupError::codec)?,
        );
        let tail = zstd.finish().map_err(BackupError::codec)?;
        let mut out = Vec::new();
        for chunk in tail.chunks(CHUNK_BYTES) {
            self.seal(chunk, false, &mut out)?;
        }
        self.seal(&[], true, &mut out)?;
        Ok((out, self.plain_bytes))
    }

    fn seal(&mut self, chunk: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), BackupError> {
        let aad = self.place.aad(self.frame, last);
        let sealed = self
            .cipher
            .encrypt(
                &self.place.nonce(self.frame),
                Payload {
                    msg: chunk,
                    aad: &aad,
                },
            )
            .map_err(|_| BackupError::codec("encryption failed"))?;
        let length = u32::try_from(sealed.len()).map_err(BackupError::codec)?;
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&sealed);
        self.frame += 1;
        Ok(())
    }
}

/// The reverse of [`Sealer`]: takes an object's bytes in any slicing, checks every frame
/// and hands out the plain bytes a frame at a time. [`Opener::finish`] proves the object
/// was whole.
pub struct Opener {
    cipher: Aes256Gcm,
    place: Place,
    frame: u64,
    pending: Vec<u8>,
    ended: bool,
    zstd: zstd::stream::write::Decoder<'static, Vec<u8>>,
    sha256: Sha256,
    stored_bytes: u64,
}

impl Opener {
    pub fn new(
        key: &DataKey,
        backup_id: &str,
        object: &str,
        object_no: u32,
    ) -> Result<Self, BackupError> {
        Ok(Self {
            cipher: key.cipher(),
            place: Place::new(backup_id, object, object_no),
            frame: 0,
            pending: Vec::new(),
            ended: false,
            zstd: zstd::stream::write::Decoder::new(Vec::new()).map_err(BackupError::codec)?,
            sha256: Sha256::new(),
            stored_bytes: 0,
        })
    }

    /// Takes stored bytes, in any slicing.
    pub fn push(&mut self, stored: &[u8]) {
        self.sha256.update(stored);
        self.stored_bytes += stored.len() as u64;
        self.pending.extend_from_slice(stored);
    }

    /// Opens the next complete frame pushed so far and returns its plain bytes (at most
    /// about [`PLAIN_PER_FRAME`]); `None` until more bytes are pushed.
    pub fn next_plain(&mut self) -> Result<Option<Vec<u8>>, BackupError> {
        use std::io::Write;
        loop {
            if self.pending.len() < 4 {
                return Ok(None);
            }
            let length = u32::from_be_bytes([
                self.pending[0],
                self.pending[1],
                self.pending[2],
                self.pending[3],
            ]) as usize;
            if !(TAG_BYTES..=MAX_FRAME_BYTES).contains(&length) {
                return Err(self.damaged(format!("frame {} has an impossible length", self.frame)));
            }
            if self.pending.len() < 4 + length {
                return Ok(None);
            }
            if self.ended {
                return Err(self.damaged("bytes after the final frame".into()));
            }
            let sealed: Vec<u8> = self.pending.drain(..4 + length).skip(4).collect();
            let chunk = self.open_frame(&sealed)?;
            self.zstd
                .write_all(&chunk)
                .map_err(|e| self.damaged(e.to_string()))?;
            let plain = std::mem::take(self.zstd.get_mut());
            if !plain.is_empty() {
                return Ok(Some(plain));
            }
        }
    }

    fn open_frame(&mut self, sealed: &[u8]) -> Result<Vec<u8>, BackupError> {
        let nonce = self.place.nonce(self.frame);
        for last in [false, true] {
            let aad = self.place.aad(self.frame, last);
            if let Ok(chunk) = self.cipher.decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            ) {
                self.frame += 1;
                self.ended = last;
                return Ok(chunk);
            }
        }
        Err(self.damaged(format!("frame {} fails authentication", self.frame)))
    }

    /// Checks the object ended with its final frame; returns the last plain bytes, the
    /// SHA-256 of the stored bytes and their count.
    pub fn finish(mut self) -> Result<(Vec<u8>, String, u64), BackupError> {
        use std::io::Write;
        if !self.ended || !self.pending.is_empty() {
            return Err(self.damaged("the object is truncated".into()));
        }
        self.zstd.flush().map_err(|e| self.damaged(e.to_string()))?;
        let rest = std::mem::take(self.zstd.get_mut());
        Ok((rest, hex::encode(self.sha256.finalize()), self.stored_bytes))
    }

    fn damaged(&self, reason: String) -> BackupError {
        BackupError::Damaged {
            object: self.place.object.clone(),
            reason,
        }
    }
}

/// An order-independent digest of a table's rows (COPY text lines): the wrapping sum of
/// every row's SHA-256 as four 64-bit lanes. Equal for the same multiset of rows in any
/// order, so a restored table is compared without sorting either side; duplicates add up
/// instead of cancelling as they would under XOR.
#[derive(Debug, Clone, Default)]
pub struct RowDigest {
    lanes: [u64; 4],
    row: Sha256,
    rows: u64,
    row_open: bool,
}

impl RowDigest {
    /// Takes COPY text output in any slicing (a row ends at an unescaped newline, and
    /// COPY escapes every newline inside a value).
    pub fn update(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            self.row.update(&rest[..end]);
            self.close_row();
            rest = &rest[end + 1..];
        }
        if !rest.is_empty() {
            self.row.update(rest);
            self.row_open = true;
        }
    }

    fn close_row(&mut self) {
        let hash = std::mem::take(&mut self.row).finalize();
        for (lane, bytes) in self.lanes.iter_mut().zip(hash.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(bytes);
            *lane = lane.wrapping_add(u64::from_be_bytes(word));
        }
        self.rows += 1;
        self.row_open = false;
    }

    /// The row count and the digest as hex.
    pub fn finish(mut self) -> (u64, String) {
        if self.row_open {
            self.close_row();
        }
        let hex: String = self
            .lanes
            .iter()
            .map(|lane| format!("{lane:016x}"))
            .collect();
        (self.rows, hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal_all(key: &DataKey, plain: &[u8], object: &str) -> Vec<u8> {
        let mut sealer = Sealer::new(key, "b1", object, 7).expect("sealer");
        let mut out = Vec::new();
        for piece in plain.chunks(777) {
            out.extend(sealer.write(piece).expect("write"));
        }
        let (tail, taken) = sealer.finish().expect("finish");
        assert_eq!(taken, plain.len() as u64);
        out.extend(tail);
        out
    }

    fn open_all(
        key: &DataKey,
        stored: &[u8],
        object: &str,
        slice: usize,
    ) -> Result<Vec<u8>, BackupError> {
        let mut opener = Opener::new(key, "b1", object, 7)?;
        let mut plain = Vec::new();
        for piece in stored.chunks(slice) {
            opener.push(piece);
            while let Some(out) = opener.next_plain()? {
                plain.extend(out);
            }
        }
        let (rest, _, _) = opener.finish()?;
        plain.extend(rest);
        Ok(plain)
    }

    /// Bytes that do not compress away, so several frames are written.
    fn noisy(len: usize) -> Vec<u8> {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn round_trips_in_any_slicing() {
        let key = DataKey::random();
        let plain = noisy(3 * CHUNK_BYTES + 12345);
        let stored = seal_all(&key, &plain, "tables/orders");
        for slice in [1 << 16, 4093, stored.len()] {
            assert_eq!(
                open_all(&key, &stored, "tables/orders", slice).expect("open"),
                plain
            );
        }
        let empty = seal_all(&key, b"", "tables/empty");
        assert_eq!(
            open_all(&key, &empty, "tables/empty", 3).expect("open empty"),
            b""
        );
    }

    #[test]
    fn a_frame_of_very_repetitive_rows_opens_to_a_bounded_size() {
        let key = DataKey::random();
        let plain = vec![b'a'; 64 << 20];
        let stored = seal_all(&key, &plain, "tables/repetitive");
        let mut opener = Opener::new(&key, "b1", "tables/repetitive", 7).expect("opener");
        let mut largest = 0;
        let mut total = 0;
        for piece in stored.chunks(1 << 16) {
            opener.push(piece);
            while let Some(out) = opener.next_plain().expect("open") {
                largest = largest.max(out.len());
                total += out.len();
            }
        }
        total += opener.finish().expect("finish").0.len();
        assert_eq!(total, plain.len());
        assert!(
            largest <= 2 * PLAIN_PER_FRAME as usize,
            "one write gave {largest} bytes"
        );
    }

    #[test]
    fn every_flipped_byte_position_kind_is_refused() {
        let key = DataKey::random();
        let plain = noisy(CHUNK_BYTES + 99);
        let stored = seal_all(&key, &plain, "tables/orders");
        for at in [0, 3, 4, 100, stored.len() / 2, stored.len() - 1] {
            let mut bad = stored.clone();
            bad[at] ^= 0x01;
            let err = open_all(&key, &bad, "tables/orders", 1 << 16).expect_err("flipped byte");
            assert!(
                matches!(err, BackupError::Damaged { ref object, .. } if object == "tables/orders"),
                "{err}"
            );
        }
    }

    #[test]
    fn truncation_another_object_and_another_key_are_refused() {
        let key = DataKey::random();
        let stored = seal_all(&key, &noisy(CHUNK_BYTES + 5), "tables/a");
        let first_frame =
            4 + u32::from_be_bytes([stored[0], stored[1], stored[2], stored[3]]) as usize;
        assert!(open_all(&key, &stored[..first_frame], "tables/a", 1 << 16).is_err());
        assert!(open_all(&key, &stored, "tables/b", 1 << 16).is_err());
        assert!(open_all(&DataKey::random(), &stored, "tables/a", 1 << 16).is_err());
        let mut extended = stored.clone();
        extended.extend_from_slice(&stored[..first_frame]);
        assert!(open_all(&key, &extended, "tables/a", 1 << 16).is_err());
    }

    #[test]
    fn row_digest_ignores_order_and_slicing_but_not_content() {
        let digest = |text: &[u8], slice: usize| {
            let mut d = RowDigest::default();
            for piece in text.chunks(slice) {
                d.update(piece);
            }
            d.finish()
        };
        let a = digest(b"1\tone\n2\ttwo\n2\ttwo\n", 3);
        assert_eq!(a, digest(b"2\ttwo\n1\tone\n2\ttwo\n", 100));
        assert_eq!(a.0, 3);
        assert_ne!(a, digest(b"1\tone\n2\ttwo\n", 100));
        assert_ne!(a.1, digest(b"1\tone\n2\ttwo\n2\ttwx\n", 100).1);
        assert_eq!(digest(b"", 1), (0, "0".repeat(64)));
    }
}
