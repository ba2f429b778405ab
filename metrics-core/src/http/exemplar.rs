//! [`Exemplar`]: the trace a request belongs to, kept as the exemplar of the duration bucket
//! it landed in; and the per-bucket slots that keep the latest one.

use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::time::SystemTime;

use super::clock::Stamp;

/// The trace and span a request belongs to: written as the exemplar
/// `{trace_id="…",span_id="…"}` of the `http_server_request_duration_seconds` bucket the
/// request landed in (OpenMetrics text and protobuf only: text 0.0.4 has no exemplars).
///
/// Build it from a sampled W3C `traceparent` header ([`from_traceparent`](Self::from_traceparent)),
/// or from the ids of any tracer ([`new`](Self::new)). Only sampled traces should give one:
/// an exemplar pointing at a trace that was never kept leads nowhere.
///
/// The two labels take 63 characters, within OpenMetrics' limit of 128 for an exemplar's labels.
///
/// ```
/// use metrics_toolkit::http::Exemplar;
///
/// let sampled = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// let exemplar = Exemplar::from_traceparent(sampled).unwrap();
/// assert_eq!(exemplar.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(exemplar.span_id(), "00f067aa0ba902b7");
///
/// let unsampled = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
/// assert_eq!(Exemplar::from_traceparent(unsampled), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Exemplar {
    /// The trace id (32 lowercase hex digits), then the span id (16): as written, so neither
    /// recording nor encoding formats anything.
    hex: [u8; HEX_LEN],
}

const TRACE_HEX: usize = 32;
const HEX_LEN: usize = TRACE_HEX + 16;
const WORDS: usize = HEX_LEN / 8;

/// The label names of an exemplar, as written.
pub(crate) const TRACE_ID: &str = "trace_id";
pub(crate) const SPAN_ID: &str = "span_id";

impl Exemplar {
    /// The exemplar of a trace and span given as bytes (OpenTelemetry's `TraceId::to_bytes`,
    /// `SpanId::to_bytes`). `None` for an all-zero id, which W3C Trace Context makes invalid.
    ///
    /// ```
    /// use metrics_toolkit::http::Exemplar;
    ///
    /// let exemplar = Exemplar::new([0xab; 16], [1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    /// assert_eq!(exemplar.span_id(), "0102030405060708");
    /// assert_eq!(Exemplar::new([0; 16], [1; 8]), None);
    /// ```
    pub fn new(trace_id: [u8; 16], span_id: [u8; 8]) -> Option<Self> {
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; HEX_LEN];
        for (index, byte) in trace_id.iter().chain(&span_id).enumerate() {
            hex[2 * index] = DIGITS[usize::from(byte >> 4)];
            hex[2 * index + 1] = DIGITS[usize::from(byte & 0xf)];
        }
        Some(Self { hex })
    }

    /// The exemplar of a W3C Trace Context `traceparent` header value
    /// (`version-traceid-parentid-flags`), when it is well-formed and its sampled flag is set.
    /// Anything else (unsampled, malformed, version `ff`, all-zero ids, upper-case hex) gives
    /// `None`. A version above `00` is read as the spec asks: its first four fields, if what
    /// follows them starts with `-`.
    #[inline]
    pub fn from_traceparent(value: &[u8]) -> Option<Self> {
        // version(2) - trace id(32) - parent id(16) - flags(2)
        const LEN: usize = 55;
        let header: &[u8; LEN] = value.get(..LEN)?.try_into().ok()?;
        if header[2] != b'-' || header[35] != b'-' || header[52] != b'-' {
            return None;
        }
        match (&header[..2], value.get(LEN)) {
            (b"00", None) => {}
            (b"00", Some(_)) | (b"ff", _) => return None,
            (_, None | Some(b'-')) if is_lower_hex(&header[..2]) => {}
            _ => return None,
        }
        // The sampled flag is the low bit of the flags byte: of its second hex digit.
        let flags_low = match header[54] {
            digit @ b'0'..=b'9' => digit - b'0',
            digit @ b'a'..=b'f' => digit - b'a' + 10,
            _ => return None,
        };
        if flags_low & 1 == 0 || !is_lower_hex(&header[53..54]) {
            return None;
        }
        let mut hex = [0u8; HEX_LEN];
        hex[..TRACE_HEX].copy_from_slice(&header[3..35]);
        hex[TRACE_HEX..].copy_from_slice(&header[36..52]);
        let exemplar = Self { hex };
        let words = exemplar.words();
        if !words.iter().all(|&word| is_lower_hex_word(word))
            || words[..4] == [ZEROS; 4]
            || words[4..] == [ZEROS; 2]
        {
            return None;
        }
        Some(exemplar)
    }

    /// The trace id, 32 lowercase hex digits.
    pub fn trace_id(&self) -> &str {
        self.hex_str(..TRACE_HEX)
    }

    /// The span id, 16 lowercase hex digits.
    pub fn span_id(&self) -> &str {
        self.hex_str(TRACE_HEX..)
    }

    fn hex_str(&self, range: impl std::slice::SliceIndex<[u8], Output = [u8]>) -> &str {
        // Every constructor leaves only ASCII hex digits here.
        std::str::from_utf8(&self.hex[range]).unwrap_or_default()
    }

    #[inline]
    fn words(&self) -> [u64; WORDS] {
        let mut words = [0; WORDS];
        for (word, chunk) in words.iter_mut().zip(self.hex.chunks_exact(8)) {
            let mut bytes = [0; 8];
            bytes.copy_from_slice(chunk);
            *word = u64::from_ne_bytes(bytes);
        }
        words
    }

    fn from_words(words: [u64; WORDS]) -> Option<Self> {
        let mut hex = [0; HEX_LEN];
        for (chunk, word) in hex.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_ne_bytes());
        }
        // A slot never holds anything else; checked anyway, as the text is written unescaped.
        hex.iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            .then_some(Self { hex })
    }
}

impl std::fmt::Debug for Exemplar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exemplar")
            .field("trace_id", &self.trace_id())
            .field("span_id", &self.span_id())
            .finish()
    }
}

/// Eight ASCII `'0'`s.
const ZEROS: u64 = u64::from_ne_bytes(*b"00000000");

fn is_lower_hex(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// Whether all eight bytes of `word` are lowercase hex digits, eight at a time: a header is
/// checked in six steps instead of 48.
#[inline]
fn is_lower_hex_word(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // In every byte below 0x80, `byte + (0x80 - n)` has its high bit set iff `byte >= n`;
    // the additions cannot carry into the next byte.
    let at_least = |n: u8| word.wrapping_add(ONES * u64::from(0x80 - n)) & HIGH;
    let digit = at_least(b'0') & !at_least(b'9' + 1);
    let letter = at_least(b'a') & !at_least(b'f' + 1);
    word & HIGH == 0 && (digit | letter) == HIGH
}

/// The latest exemplar of one bucket: written by whichever request gets there, read by scrapes.
///
/// A sequence lock: a writer makes the sequence odd, writes, and makes it even again; a reader
/// retries when the sequence moved under it. A writer that finds another one writing skips its
/// exemplar instead of waiting: the bucket keeps one exemplar either way.
#[derive(Debug, Default)]
pub(crate) struct ExemplarSlot {
    sequence: AtomicU64,
    hex: [AtomicU64; WORDS],
    value: AtomicU64,
    /// The request clock's reading when the request ended; 0: never written.
    stamp: AtomicU64,
}

/// One bucket's exemplar as read by a scrape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ExemplarReading {
    pub(crate) exemplar: Exemplar,
    pub(crate) value: f64,
    /// Seconds since the Unix epoch.
    pub(crate) timestamp: f64,
}

impl ExemplarSlot {
    #[inline]
    pub(crate) fn record(&self, exemplar: &Exemplar, value: f64, at: Stamp) {
        let sequence = self.sequence.load(Ordering::Relaxed);
        if sequence & 1 == 1
            || self
                .sequence
                .compare_exchange(sequence, sequence + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        // The odd sequence is visible before any of the writes below.
        fence(Ordering::Release);
        for (cell, word) in self.hex.iter().zip(exemplar.words()) {
            cell.store(word, Ordering::Relaxed);
        }
        self.value.store(value.to_bits(), Ordering::Relaxed);
        self.stamp.store(at.raw().max(1), Ordering::Relaxed);
        self.sequence.store(sequence + 2, Ordering::Release);
    }

    /// The exemplar written last, if any; `now` converts its clock reading to wall time.
    pub(crate) fn read(&self, now: &WallClock) -> Option<ExemplarReading> {
        // A writer holds the sequence odd for a few stores: a handful of retries suffice, and
        // a scrape never spins on a slot.
        for _ in 0..64 {
            let before = self.sequence.load(Ordering::Acquire);
            if before & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let words = self.hex.each_ref().map(|cell| cell.load(Ordering::Relaxed));
            let value = f64::from_bits(self.value.load(Ordering::Relaxed));
            let stamp = self.stamp.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if self.sequence.load(Ordering::Relaxed) != before {
                continue;
            }
            if stamp == 0 {
                return None;
            }
            return Some(ExemplarReading {
                exemplar: Exemplar::from_words(words)?,
                value,
                timestamp: now.seconds_at(Stamp::from_raw(stamp)),
            });
        }
        None
    }
}

/// Wall time of request clock readings, for one scrape: the clock and the wall clock read
/// once, together.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WallClock {
    now: Stamp,
    /// Seconds since the Unix epoch at `now`.
    wall: f64,
}

impl WallClock {
    pub(crate) fn now() -> Self {
        let now = Stamp::now();
        let wall = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());
        Self { now, wall }
    }

    /// Seconds since the Unix epoch at `stamp` (a reading before `now`).
    pub(crate) fn seconds_at(&self, stamp: Stamp) -> f64 {
        self.wall - stamp.seconds_until(self.now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLED: &[u8] = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn reads_sampled_traceparents_only() {
        let exemplar = Exemplar::from_traceparent(SAMPLED).expect("sampled");
        assert_eq!(exemplar.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(exemplar.span_id(), "00f067aa0ba902b7");
        // Other flags with the sampled bit: 03, 0b, ff.
        for flags in ["03", "0b", "ff", "11"] {
            let header = format!("{}{flags}", std::str::from_utf8(&SAMPLED[..53]).unwrap());
            assert!(
                Exemplar::from_traceparent(header.as_bytes()).is_some(),
                "{flags}"
            );
        }
        for flags in ["00", "02", "0a", "fe", "0A", "0B", "g1", "1g", "-1"] {
            let header = format!("{}{flags}", std::str::from_utf8(&SAMPLED[..53]).unwrap());
            assert_eq!(
                Exemplar::from_traceparent(header.as_bytes()),
                None,
                "{flags}"
            );
        }
    }

    #[test]
    fn rejects_malformed_headers() {
        let bad: &[&[u8]] = &[
            b"",
            b"00",
            &SAMPLED[..54],
            b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b\"-01",
            b"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01extra",
            "00-4bf92f3577b34da6a3ce929d0e0e47é-00f067aa0ba902b7-01".as_bytes(),
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\xff",
        ];
        for header in bad {
            assert_eq!(
                Exemplar::from_traceparent(header),
                None,
                "{}",
                String::from_utf8_lossy(header)
            );
        }
        // A later version may append fields after a dash.
        let future = b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes";
        assert!(Exemplar::from_traceparent(future).is_some());
    }

    #[test]
    fn the_word_check_agrees_with_the_byte_check() {
        for byte in 0..=255u8 {
            let word = u64::from_ne_bytes([b'a', b'0', byte, b'f', b'9', b'1', b'c', b'e']);
            let expected = byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte);
            assert_eq!(is_lower_hex_word(word), expected, "{byte:#x}");
        }
    }

    #[test]
    fn ids_from_bytes_are_written_as_hex() {
        let exemplar = Exemplar::new([0x0f; 16], [0xa0; 8]).expect("valid");
        assert_eq!(exemplar.trace_id(), "0f".repeat(16));
        assert_eq!(exemplar.span_id(), "a0".repeat(8));
        assert_eq!(Exemplar::new([1; 16], [0; 8]), None);
    }

    #[test]
    fn a_slot_keeps_the_latest_exemplar_with_its_time() {
        let slot = ExemplarSlot::default();
        let wall = WallClock::now();
        assert_eq!(slot.read(&wall), None);
        let first = Exemplar::from_traceparent(SAMPLED).expect("sampled");
        let second = Exemplar::new([7; 16], [8; 8]).expect("valid");
        slot.record(&first, 0.25, Stamp::now());
        slot.record(&second, 0.5, Stamp::now());
        let wall = WallClock::now();
        let reading = slot.read(&wall).expect("written");
        assert_eq!(reading.exemplar, second);
        assert_eq!(reading.value, 0.5);
        assert!((wall.wall - reading.timestamp).abs() < 1.0, "{reading:?}");
    }

    #[test]
    fn readers_never_see_a_torn_exemplar() {
        let slot = ExemplarSlot::default();
        let ids: Vec<Exemplar> = (1..=4u8)
            .map(|n| Exemplar::new([n; 16], [n; 8]).expect("valid"))
            .collect();
        std::thread::scope(|scope| {
            for (index, exemplar) in ids.iter().enumerate() {
                let slot = &slot;
                scope.spawn(move || {
                    for _ in 0..20_000 {
                        slot.record(exemplar, index as f64, Stamp::now());
                    }
                });
            }
            let wall = WallClock::now();
            for _ in 0..20_000 {
                if let Some(reading) = slot.read(&wall) {
                    let index = ids
                        .iter()
                        .position(|id| *id == reading.exemplar)
                        .expect("one of the exemplars written, whole");
                    assert_eq!(reading.value, index as f64);
                }
            }
        });
    }
}
