//! [`Exemplar`]: the trace a request belongs to, kept as the exemplar of the duration bucket
//! it landed in; and the per-bucket slots that keep the latest one.

use std::num::NonZeroU64;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
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
    pub fn from_traceparent(value: &[u8]) -> Option<Self> {
        let digits = HexIds::from_traceparent(value)?.checked()?;
        let byte = |at: usize| hex_value(digits[at]) << 4 | hex_value(digits[at + 1]);
        let mut trace = [0u8; 16];
        let mut span = [0u8; 8];
        for (index, out) in trace.iter_mut().chain(span.iter_mut()).enumerate() {
            *out = byte(2 * index);
        }
        Self::new(trace, span)
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

    /// The trace id's 32 lowercase hex digits, then the span id's 16, as exemplars write them
    /// (on the stack: a request that sets an exemplar allocates nothing).
    pub(crate) fn hex_digits(&self) -> [u8; 48] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut digits = [0u8; 48];
        let bytes = self.trace_id().into_iter().chain(self.span_id());
        for (pair, byte) in digits.chunks_exact_mut(2).zip(bytes) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0xf)];
        }
        digits
    }
}

impl std::fmt::Debug for Exemplar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.hex_digits();
        let text = std::str::from_utf8(&digits).unwrap_or_default();
        f.debug_struct("Exemplar")
            .field("trace_id", &&text[..32])
            .field("span_id", &&text[32..])
            .finish()
    }
}

/// The value of a lowercase hex digit (checked before).
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit.wrapping_sub(b'0') & 0xf,
    }
}

#[inline]
fn is_lower_hex(digit: u8) -> bool {
    matches!(digit, b'0'..=b'9' | b'a'..=b'f')
}

/// The length of a version 00 `traceparent` value: version(2) - trace id(32) - parent id(16) -
/// flags(2).
const TRACEPARENT_LEN: usize = 55;

/// Whether `value` is what nearly every sampled request sends: version 00 with only the
/// sampled flag (`00-…-…-01`). Five compares of memory with constants: the common case costs
/// a dozen instructions, and anything else goes to [`is_other_sampled`].
#[inline(always)]
fn is_plain_sampled(value: &[u8]) -> bool {
    let Some(header) = value.first_chunk::<TRACEPARENT_LEN>() else {
        return false;
    };
    value.len() == TRACEPARENT_LEN
        && header[..2] == *b"00"
        && header[2] == b'-'
        && header[35] == b'-'
        && header[52] == b'-'
        && header[53..] == *b"01"
}

/// Whether `value` is a well-formed sampled `traceparent` that
/// [`is_plain_sampled`] does not take: other flags, other versions. Out of line, so the common
/// case stays small where it is inlined; unsampled and malformed values end here too.
#[inline(never)]
fn is_other_sampled(value: &[u8]) -> bool {
    let Some(header) = value.first_chunk::<TRACEPARENT_LEN>() else {
        return false;
    };
    if header[2] != b'-' || header[35] != b'-' || header[52] != b'-' {
        return false;
    }
    let version_ok = match (header[0], header[1], value.get(TRACEPARENT_LEN)) {
        (b'0', b'0', None) => true,
        (b'0', b'0', Some(_)) | (b'f', b'f', _) => false,
        // A later version may append fields, after a dash.
        (high, low, None | Some(b'-')) => is_lower_hex(high) && is_lower_hex(low),
        _ => false,
    };
    // The sampled flag is the low bit of the flags byte: of its second hex digit.
    let sampled = match header[54] {
        digit @ b'0'..=b'9' => digit & 1 == 1,
        // 'a' (10) is 0x61: odd letters are even bytes.
        digit @ b'a'..=b'f' => digit & 1 == 0,
        _ => false,
    };
    version_ok && sampled && is_lower_hex(header[53])
}

/// A trace id and span id as exemplars write them: 48 lowercase hex digits, the trace id's 32
/// then the span id's 16, in six words. From a `traceparent` header the digits are copied as
/// they came, and checked ([`checked`](Self::checked)) only when an exemplar is written: a
/// request pays for the copy, a scrape for the check of the few it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HexIds([u64; 6]);

impl HexIds {
    /// The ids of a `traceparent` value whose structure is right and whose sampled flag is set.
    #[inline]
    pub(crate) fn from_traceparent(value: &[u8]) -> Option<Self> {
        // Only a yes or no comes back from the checks, and the digits are read here: the ids
        // go from the header to the pending slot in registers, not through an `Option` on
        // the stack.
        if !(is_plain_sampled(value) || is_other_sampled(value)) {
            return None;
        }
        Some(Self::of_traceparent(value.first_chunk()?))
    }

    /// The digits of the trace id and parent id of a `traceparent` value (checked for
    /// structure before), as they are.
    #[inline(always)]
    fn of_traceparent(header: &[u8; TRACEPARENT_LEN]) -> Self {
        let word = |at: usize| {
            let mut word = [0; 8];
            word.copy_from_slice(&header[at..at + 8]);
            u64::from_ne_bytes(word)
        };
        Self([word(3), word(11), word(19), word(27), word(36), word(44)])
    }

    /// The ids of an exemplar.
    pub(crate) fn of(exemplar: &Exemplar) -> Self {
        let digits = exemplar.hex_digits();
        let mut words = [0; 6];
        for (word, chunk) in words.iter_mut().zip(digits.chunks_exact(8)) {
            let mut bytes = [0; 8];
            bytes.copy_from_slice(chunk);
            *word = u64::from_ne_bytes(bytes);
        }
        Self(words)
    }

    /// The digits, when all are lowercase hex and neither id is all zeros (W3C's invalid ids).
    pub(crate) fn checked(self) -> Option<[u8; 48]> {
        let mut digits = [0u8; 48];
        for (chunk, word) in digits.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&word.to_ne_bytes());
        }
        let valid = digits.iter().all(|&digit| is_lower_hex(digit))
            && digits[..32].iter().any(|&digit| digit != b'0')
            && digits[32..].iter().any(|&digit| digit != b'0');
        valid.then_some(digits)
    }
}

/// The six words of [`HexIds`] in atomics, where requests leave them and scrapes read them.
#[derive(Debug, Default)]
pub(crate) struct IdCells([AtomicU64; 6]);

impl IdCells {
    #[inline(always)]
    fn store(&self, ids: &HexIds) {
        for (cell, word) in self.0.iter().zip(ids.0) {
            cell.store(word, Ordering::Relaxed);
        }
    }

    #[inline(always)]
    fn load(&self) -> HexIds {
        HexIds(self.0.each_ref().map(|cell| cell.load(Ordering::Relaxed)))
    }

    /// Copies `from` word by word: each word goes from one cache line to the other without
    /// waiting in registers or on the stack.
    #[inline(always)]
    fn copy_from(&self, from: &IdCells) {
        for (cell, word) in self.0.iter().zip(&from.0) {
            cell.store(word.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }
}

impl From<HexIds> for IdCells {
    fn from(ids: HexIds) -> Self {
        Self(ids.0.map(AtomicU64::new))
    }
}

/// The latest exemplar of one bucket: written by whichever request gets there, read by scrapes.
///
/// A sequence lock: a writer makes the sequence odd, writes, and makes it even again; a reader
/// retries when the sequence moved under it. A writer that finds another one writing skips its
/// exemplar instead of waiting: the bucket keeps one exemplar either way.
#[derive(Debug, Default)]
pub(crate) struct ExemplarSlot {
    /// Odd while a writer writes; 0: never written.
    sequence: AtomicU64,
    ids: IdCells,
    value: AtomicU64,
    /// The request clock's reading when the request ended.
    stamp: AtomicU64,
}

/// One bucket's exemplar as read by a scrape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ExemplarReading {
    /// The trace id's 32 hex digits, then the span id's 16.
    digits: [u8; 48],
    pub(crate) value: f64,
    /// Seconds since the Unix epoch.
    pub(crate) timestamp: f64,
}

impl ExemplarReading {
    /// The trace id's 32 lowercase hex digits.
    pub(crate) fn trace_id(&self) -> &str {
        std::str::from_utf8(&self.digits[..32]).unwrap_or_default()
    }

    /// The span id's 16 lowercase hex digits.
    pub(crate) fn span_id(&self) -> &str {
        std::str::from_utf8(&self.digits[32..]).unwrap_or_default()
    }
}

impl ExemplarSlot {
    /// Writes the ids in `ids` (a request's pending slot), unless another request is writing
    /// this slot right now: then the bucket keeps that one's.
    #[inline(always)]
    pub(crate) fn record(&self, ids: &IdCells, value: f64, at: Stamp) {
        // Setting the low bit claims the slot (one `lock bts`); a writer that finds it set
        // leaves the sequence as it was, so only the claimer changes it until it is done.
        if self.sequence.fetch_or(1, Ordering::Relaxed) & 1 == 1 {
            return;
        }
        let odd = self.sequence.load(Ordering::Relaxed);
        // The odd sequence is visible before any of the writes below.
        fence(Ordering::Release);
        self.ids.copy_from(ids);
        self.value.store(value.to_bits(), Ordering::Relaxed);
        self.stamp.store(at.raw(), Ordering::Relaxed);
        self.sequence.store(odd + 1, Ordering::Release);
    }

    /// The exemplar written last, if any (and if its ids are valid); `now` converts its clock
    /// reading to wall time.
    pub(crate) fn read(&self, now: &WallClock) -> Option<ExemplarReading> {
        // A writer holds the sequence odd for a few stores: a handful of retries suffice, and
        // a scrape never spins on a slot.
        for _ in 0..64 {
            let before = self.sequence.load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            if before & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let ids = self.ids.load();
            let value = f64::from_bits(self.value.load(Ordering::Relaxed));
            let stamp = self.stamp.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if self.sequence.load(Ordering::Relaxed) != before {
                continue;
            }
            return Some(ExemplarReading {
                digits: ids.checked()?,
                value,
                timestamp: now.seconds_at(Stamp::from_raw(stamp)),
            });
        }
        None
    }
}

/// Slots holding the exemplars of requests in flight until they end, when the bucket their
/// duration lands in is known. A request holds a slot's number (one byte), not the ids (48):
/// the guard of every request moves with its response, exemplar or not, and every byte of it
/// is copied each time. Per route, method and thread stripe (an in-flight cell), so only
/// requests of one stripe share it. A request that finds every slot taken keeps no exemplar.
#[derive(Debug, Default)]
pub(crate) struct PendingExemplars {
    /// Bit `i` set: slot `i` is held.
    held: AtomicU32,
    slots: [IdCells; 32],
}

impl PendingExemplars {
    /// Keeps `ids` in the slot numbered `held` (a request's second exemplar replaces its
    /// first), or else in a free slot; returns the slot's number, 0 when none was free.
    #[inline]
    pub(crate) fn put(&self, held: u8, ids: &HexIds) -> u8 {
        let slot = match held.checked_sub(1) {
            Some(index) => usize::from(index),
            None => {
                let free = !self.held.load(Ordering::Relaxed);
                // None free: 32 % 32 picks slot 0, held, and the claim below fails (no branch
                // of its own for a full set of slots).
                let index = free.trailing_zeros() % 32;
                // One bit, written as a shift: the claim compiles to one `lock bts`, not a
                // compare-exchange loop.
                let bit = 1 << index;
                if self.held.fetch_or(bit, Ordering::Acquire) & bit != 0 {
                    // Every slot held, or another request took this one first: no exemplar
                    // this time.
                    return 0;
                }
                index as usize
            }
        };
        self.slots[slot % 32].store(ids);
        slot as u8 + 1
    }

    /// The ids in slot `held` (from [`put`](Self::put), non-zero), still held: read them,
    /// then [`release`](Self::release) the slot.
    #[inline(always)]
    pub(crate) fn ids(&self, held: u8) -> &IdCells {
        &self.slots[usize::from(held.wrapping_sub(1)) % 32]
    }

    /// Frees slot `held`, after its ids were read.
    #[inline(always)]
    pub(crate) fn release(&self, held: u8) {
        let slot = u32::from(held.wrapping_sub(1)) % 32;
        self.held.fetch_and(!(1 << slot), Ordering::Release);
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

    fn with_flags(flags: &str) -> String {
        format!(
            "{}{flags}",
            std::str::from_utf8(&SAMPLED[..53]).expect("ascii")
        )
    }

    #[test]
    fn reads_sampled_traceparents_only() {
        let exemplar = Exemplar::from_traceparent(SAMPLED).expect("sampled");
        let digits = exemplar.hex_digits();
        assert_eq!(&digits[..32], b"4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(&digits[32..], b"00f067aa0ba902b7");
        assert_eq!(exemplar.trace_id()[..4], [0x4b, 0xf9, 0x2f, 0x35]);
        assert_eq!(
            exemplar.span_id(),
            [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]
        );
        for flags in ["01", "03", "0b", "ff", "11", "0d", "0f"] {
            let header = with_flags(flags);
            assert!(
                Exemplar::from_traceparent(header.as_bytes()).is_some(),
                "{flags}"
            );
            assert!(
                HexIds::from_traceparent(header.as_bytes()).is_some(),
                "{flags}"
            );
        }
        for flags in ["00", "02", "0a", "fe", "0c", "0A", "0B", "g1", "1g", "-1"] {
            let header = with_flags(flags);
            assert_eq!(
                Exemplar::from_traceparent(header.as_bytes()),
                None,
                "{flags}"
            );
            assert_eq!(HexIds::from_traceparent(header.as_bytes()), None, "{flags}");
        }
    }

    #[test]
    fn the_fast_path_takes_only_what_the_full_reading_takes() {
        assert!(is_plain_sampled(SAMPLED));
        assert!(is_other_sampled(SAMPLED), "the full reading agrees");
        // Left to the full reading: other flags, other versions, anything longer.
        for header in [
            with_flags("03"),
            format!("01{}", std::str::from_utf8(&SAMPLED[2..]).expect("ascii")),
            format!(
                "{}-more",
                std::str::from_utf8(&SAMPLED[..55]).expect("ascii")
            ),
        ] {
            assert!(!is_plain_sampled(header.as_bytes()), "{header}");
        }
        assert!(is_other_sampled(with_flags("03").as_bytes()));
        for flags in ["00", "02", "11x"] {
            assert!(!is_plain_sampled(with_flags(flags).as_bytes()), "{flags}");
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
            b"0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01extra",
            "00-4bf92f3577b34da6a3ce929d0e0e47é-00f067aa0ba902b7-01".as_bytes(),
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\xff",
        ];
        for header in bad {
            let shown = String::from_utf8_lossy(header);
            assert_eq!(Exemplar::from_traceparent(header), None, "{shown}");
            // The fast path may take what only the digit check refuses, never past it.
            let checked = HexIds::from_traceparent(header).and_then(HexIds::checked);
            assert_eq!(checked, None, "{shown}");
        }
        // A later version may append fields after a dash.
        let future = b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes";
        assert!(Exemplar::from_traceparent(future).is_some());
    }

    #[test]
    fn ids_from_bytes_are_written_as_hex() {
        let exemplar = Exemplar::new([0x0f; 16], [0xa0; 8]).expect("valid");
        let digits = HexIds::of(&exemplar).checked().expect("valid digits");
        let expected = format!("{}{}", "0f".repeat(16), "a0".repeat(8));
        assert_eq!(&digits[..], expected.as_bytes());
        assert_eq!(Exemplar::new([1; 16], [0; 8]), None);
        let parsed = HexIds::from_traceparent(SAMPLED).expect("sampled");
        let exemplar = Exemplar::from_traceparent(SAMPLED).expect("sampled");
        assert_eq!(parsed, HexIds::of(&exemplar));
    }

    #[test]
    fn a_slot_keeps_the_latest_exemplar_with_its_time() {
        let slot = ExemplarSlot::default();
        let wall = WallClock::now();
        assert_eq!(slot.read(&wall), None);
        let first = HexIds::from_traceparent(SAMPLED).expect("sampled");
        let second = HexIds::of(&Exemplar::new([7; 16], [8; 8]).expect("valid"));
        slot.record(&first.into(), 0.25, Stamp::now());
        slot.record(&second.into(), 0.5, Stamp::now());
        let wall = WallClock::now();
        let reading = slot.read(&wall).expect("written");
        assert_eq!(reading.trace_id(), "07".repeat(16));
        assert_eq!(reading.span_id(), "08".repeat(8));
        assert_eq!(reading.value, 0.5);
        assert!((wall.wall - reading.timestamp).abs() < 1.0, "{reading:?}");
        // Digits a header brought that are not hex are never shown.
        let bad = b"00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01";
        let bad = HexIds::from_traceparent(bad).expect("structure");
        slot.record(&bad.into(), 1.0, Stamp::now());
        assert_eq!(slot.read(&WallClock::now()), None);
    }

    #[test]
    fn readers_never_see_a_torn_exemplar() {
        let slot = ExemplarSlot::default();
        let ids: Vec<IdCells> = (1..=4u8)
            .map(|n| HexIds::of(&Exemplar::new([n; 16], [n; 8]).expect("valid")).into())
            .collect();
        std::thread::scope(|scope| {
            for (index, ids) in ids.iter().enumerate() {
                let slot = &slot;
                scope.spawn(move || {
                    for _ in 0..20_000 {
                        slot.record(ids, index as f64, Stamp::now());
                    }
                });
            }
            let wall = WallClock::now();
            for _ in 0..20_000 {
                if let Some(reading) = slot.read(&wall) {
                    let n = reading.value as u8 + 1;
                    assert_eq!(reading.trace_id(), format!("{n:02x}").repeat(16));
                    assert_eq!(reading.span_id(), format!("{n:02x}").repeat(8));
                }
            }
        });
    }

    #[test]
    fn pending_slots_are_held_until_taken() {
        let pending = PendingExemplars::default();
        let ids = |n: u8| HexIds::of(&Exemplar::new([n; 16], [n; 8]).expect("valid"));
        let take = |held: u8| {
            let ids = pending.ids(held).load();
            pending.release(held);
            ids
        };
        let held: Vec<u8> = (0..32).map(|n| pending.put(0, &ids(n + 1))).collect();
        assert!(held.iter().all(|&slot| slot != 0));
        assert_eq!(pending.put(0, &ids(99)), 0, "every slot is held");
        // A second exemplar of a request replaces its first, in the same slot.
        assert_eq!(pending.put(held[5], &ids(77)), held[5]);
        assert_eq!(take(held[5]), ids(77));
        assert_eq!(take(held[0]), ids(1));
        let again = pending.put(0, &ids(55));
        assert!(again == held[0] || again == held[5], "{again}");
        assert_eq!(take(again), ids(55));
    }
}
