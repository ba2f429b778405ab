//! [`Exemplar`]: the trace a request belongs to, kept as the exemplar of the duration bucket
//! it landed in; and the per-bucket slots that keep the latest one.

use std::num::NonZeroU64;
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
/// assert_eq!(exemplar.span_id(), [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);
///
/// let unsampled = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
/// assert_eq!(Exemplar::from_traceparent(unsampled), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Exemplar {
    /// The trace id's bytes, in order, as two little-endian words.
    trace: [u64; 2],
    /// The span id's bytes, likewise; never zero, so `Option<Exemplar>` takes no more room (a
    /// request carries one).
    span: NonZeroU64,
}

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
    /// assert_eq!(exemplar.span_id(), [1, 2, 3, 4, 5, 6, 7, 8]);
    /// assert_eq!(Exemplar::new([0; 16], [1; 8]), None);
    /// ```
    pub fn new(trace_id: [u8; 16], span_id: [u8; 8]) -> Option<Self> {
        let word = |bytes: &[u8]| {
            let mut word = [0; 8];
            word.copy_from_slice(bytes);
            u64::from_le_bytes(word)
        };
        let trace = [word(&trace_id[..8]), word(&trace_id[8..])];
        if trace == [0, 0] {
            return None;
        }
        Some(Self {
            trace,
            span: NonZeroU64::new(u64::from_le_bytes(span_id))?,
        })
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
        let word = |at: usize| {
            let mut word = [0; 8];
            word.copy_from_slice(&header[at..at + 8]);
            u64::from_le_bytes(word)
        };
        let digits = [word(3), word(11), word(19), word(27), word(36), word(44)];
        let mut decoded = [0u64; 6];
        let mut invalid = 0;
        for (out, digits) in decoded.iter_mut().zip(digits) {
            let (value, bad) = decode_hex_word(digits);
            *out = value;
            invalid |= bad;
        }
        if invalid != 0 {
            return None;
        }
        let trace = [decoded[0] | decoded[1] << 32, decoded[2] | decoded[3] << 32];
        if trace == [0, 0] {
            return None;
        }
        Some(Self {
            trace,
            span: NonZeroU64::new(decoded[4] | decoded[5] << 32)?,
        })
    }

    /// The trace id's bytes.
    pub fn trace_id(&self) -> [u8; 16] {
        let mut bytes = [0; 16];
        bytes[..8].copy_from_slice(&self.trace[0].to_le_bytes());
        bytes[8..].copy_from_slice(&self.trace[1].to_le_bytes());
        bytes
    }

    /// The span id's bytes.
    pub fn span_id(&self) -> [u8; 8] {
        self.span.get().to_le_bytes()
    }

    /// Appends the trace id as 32 lowercase hex digits, as exemplars write it.
    pub(crate) fn push_trace_id(&self, out: &mut String) {
        push_hex(out, &self.trace_id());
    }

    /// Appends the span id as 16 lowercase hex digits.
    pub(crate) fn push_span_id(&self, out: &mut String) {
        push_hex(out, &self.span_id());
    }

    fn words(&self) -> [u64; 3] {
        [self.trace[0], self.trace[1], self.span.get()]
    }

    fn from_words(words: [u64; 3]) -> Option<Self> {
        (words[..2] != [0, 0]).then_some(())?;
        Some(Self {
            trace: [words[0], words[1]],
            span: NonZeroU64::new(words[2])?,
        })
    }
}

impl std::fmt::Debug for Exemplar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (mut trace, mut span) = (String::new(), String::new());
        self.push_trace_id(&mut trace);
        self.push_span_id(&mut span);
        f.debug_struct("Exemplar")
            .field("trace_id", &trace)
            .field("span_id", &span)
            .finish()
    }
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
}

fn is_lower_hex(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// Decodes eight lowercase hex digits (the bytes of `digits`, little-endian: the first digit
/// lowest) into four bytes, eight digits at a time rather than one: a `traceparent` is read in
/// six such steps. Returns the bytes (in order, little-endian) and a word that is non-zero when
/// a byte was not a lowercase hex digit.
#[inline]
fn decode_hex_word(digits: u64) -> (u64, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW: u64 = 0x0f0f_0f0f_0f0f_0f0f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // '0'..'9' are 0x30..0x39 and 'a'..'f' 0x61..0x66: the low four bits, plus 9 for letters
    // (bit 6 set).
    let letters = (digits >> 6) & ONES;
    let nibbles = (digits & LOW) + letters * 9;
    // Valid exactly when each nibble is below 16 and spells back to the digit given.
    let at_least_ten = (nibbles + ONES * (0x80 - 10)) & HIGH;
    let spelled = nibbles + ONES * u64::from(b'0') + (at_least_ten >> 7) * 0x27;
    let invalid = (digits ^ spelled) | ((nibbles + ONES * (0x80 - 16)) & HIGH) | (digits & HIGH);
    // Two digits per byte, the first one high; then the bytes side by side.
    let pairs = ((nibbles & 0x00ff_00ff_00ff_00ff) << 4) | ((nibbles >> 8) & 0x00ff_00ff_00ff_00ff);
    let quads = (pairs | pairs >> 8) & 0x0000_ffff_0000_ffff;
    ((quads | quads >> 16) & 0xffff_ffff, invalid)
}

/// The latest exemplar of one bucket: written by whichever request gets there, read by scrapes.
///
/// A sequence lock: a writer makes the sequence odd, writes, and makes it even again; a reader
/// retries when the sequence moved under it. A writer that finds another one writing skips its
/// exemplar instead of waiting: the bucket keeps one exemplar either way.
#[derive(Debug, Default)]
pub(crate) struct ExemplarSlot {
    sequence: AtomicU64,
    ids: [AtomicU64; 3],
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
        for (cell, word) in self.ids.iter().zip(exemplar.words()) {
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
            let words = self.ids.each_ref().map(|cell| cell.load(Ordering::Relaxed));
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
        let (mut trace, mut span) = (String::new(), String::new());
        exemplar.push_trace_id(&mut trace);
        exemplar.push_span_id(&mut span);
        assert_eq!(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(span, "00f067aa0ba902b7");
        assert_eq!(exemplar.trace_id()[..4], [0x4b, 0xf9, 0x2f, 0x35]);
        assert_eq!(
            exemplar.span_id(),
            [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]
        );
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
    fn the_word_decoder_agrees_with_the_byte_decoder() {
        for byte in 0..=255u8 {
            for position in 0..8 {
                let mut digits = *b"a0f91ce7";
                digits[position] = byte;
                let (value, invalid) = decode_hex_word(u64::from_le_bytes(digits));
                let valid = byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte);
                assert_eq!(invalid == 0, valid, "{byte:#x} at {position}");
                if valid {
                    let text = std::str::from_utf8(&digits).expect("ascii");
                    let expected = u32::from_str_radix(text, 16).expect("hex").to_be_bytes();
                    assert_eq!((value as u32).to_le_bytes(), expected, "{text}");
                }
            }
        }
    }

    #[test]
    fn ids_from_bytes_are_written_as_hex() {
        let exemplar = Exemplar::new([0x0f; 16], [0xa0; 8]).expect("valid");
        let (mut trace, mut span) = (String::new(), String::new());
        exemplar.push_trace_id(&mut trace);
        exemplar.push_span_id(&mut span);
        assert_eq!(trace, "0f".repeat(16));
        assert_eq!(span, "a0".repeat(8));
        assert_eq!(Exemplar::new([1; 16], [0; 8]), None);
        assert_eq!(std::mem::size_of::<Option<Exemplar>>(), 24);
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
