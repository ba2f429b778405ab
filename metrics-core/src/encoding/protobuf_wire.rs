//! The protobuf wire format, written straight into the output: what the fast collectors need
//! of `io.prometheus.client.MetricFamily` (varints, doubles, strings, nested messages).
//!
//! Hand-written rather than through prost's generated types: building a `MetricFamily` of
//! owned strings and vectors per series, then serialising it, is what makes
//! prometheus-client's protobuf encoder several times slower than writing the bytes directly
//! (`benches/benches/encode.rs`, `protobuf/*`). A nested message is written in place behind a
//! one-byte length, moved up in the rare case its length needs more bytes, so nothing is
//! allocated per message.

/// Field numbers of `io.prometheus.client` (metrics.proto).
pub(crate) mod field {
    pub(crate) const FAMILY_NAME: u32 = 1;
    pub(crate) const FAMILY_HELP: u32 = 2;
    pub(crate) const FAMILY_TYPE: u32 = 3;
    pub(crate) const FAMILY_METRIC: u32 = 4;
    pub(crate) const FAMILY_UNIT: u32 = 5;

    pub(crate) const METRIC_LABEL: u32 = 1;
    pub(crate) const METRIC_GAUGE: u32 = 2;
    pub(crate) const METRIC_COUNTER: u32 = 3;
    pub(crate) const METRIC_HISTOGRAM: u32 = 7;

    pub(crate) const LABEL_NAME: u32 = 1;
    pub(crate) const LABEL_VALUE: u32 = 2;

    pub(crate) const GAUGE_VALUE: u32 = 1;
    pub(crate) const COUNTER_VALUE: u32 = 1;
    pub(crate) const COUNTER_START: u32 = 3;

    pub(crate) const HISTOGRAM_COUNT: u32 = 1;
    pub(crate) const HISTOGRAM_SUM: u32 = 2;
    pub(crate) const HISTOGRAM_BUCKET: u32 = 3;
    pub(crate) const HISTOGRAM_SCHEMA: u32 = 5;
    pub(crate) const HISTOGRAM_ZERO_THRESHOLD: u32 = 6;
    pub(crate) const HISTOGRAM_ZERO_COUNT: u32 = 7;
    pub(crate) const HISTOGRAM_NEGATIVE_SPAN: u32 = 9;
    pub(crate) const HISTOGRAM_NEGATIVE_DELTA: u32 = 10;
    pub(crate) const HISTOGRAM_POSITIVE_SPAN: u32 = 12;
    pub(crate) const HISTOGRAM_POSITIVE_DELTA: u32 = 13;
    pub(crate) const HISTOGRAM_START: u32 = 15;
    pub(crate) const HISTOGRAM_EXEMPLARS: u32 = 16;

    pub(crate) const BUCKET_CUMULATIVE_COUNT: u32 = 1;
    pub(crate) const BUCKET_UPPER_BOUND: u32 = 2;
    pub(crate) const BUCKET_EXEMPLAR: u32 = 3;

    pub(crate) const SPAN_OFFSET: u32 = 1;
    pub(crate) const SPAN_LENGTH: u32 = 2;

    pub(crate) const EXEMPLAR_LABEL: u32 = 1;
    pub(crate) const EXEMPLAR_VALUE: u32 = 2;
    pub(crate) const EXEMPLAR_TIMESTAMP: u32 = 3;

    pub(crate) const TIMESTAMP_SECONDS: u32 = 1;
    pub(crate) const TIMESTAMP_NANOS: u32 = 2;
}

/// `io.prometheus.client.MetricType` values.
#[derive(Debug, Clone, Copy)]
pub(crate) enum MetricType {
    Counter = 0,
    Gauge = 1,
    Histogram = 4,
}

const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LENGTH_DELIMITED: u32 = 2;

/// Writes protobuf fields into a byte buffer.
#[derive(Debug)]
pub(crate) struct ProtoWriter<'a> {
    out: &'a mut Vec<u8>,
}

/// Where a nested message's length goes; see [`ProtoWriter::begin`].
#[must_use]
#[derive(Debug)]
pub(crate) struct Nested(usize);

impl<'a> ProtoWriter<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out }
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.out.reserve(additional);
    }

    #[inline]
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.out.push(value as u8 | 0x80);
            value >>= 7;
        }
        self.out.push(value as u8);
    }

    #[inline]
    fn tag(&mut self, field: u32, wire_type: u32) {
        self.varint(u64::from(field << 3 | wire_type));
    }

    /// An unsigned integer field (omitted when zero, as proto3 writes it).
    #[inline]
    pub(crate) fn uint(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.tag(field, VARINT);
            self.varint(value);
        }
    }

    /// A signed integer of a `sint32`/`sint64` field (zigzag; omitted when zero).
    #[inline]
    pub(crate) fn sint(&mut self, field: u32, value: i64) {
        if value != 0 {
            self.tag(field, VARINT);
            self.varint(((value << 1) ^ (value >> 63)) as u64);
        }
    }

    /// A zigzag varint without a tag: an element of a packed `sint64` field.
    #[inline]
    pub(crate) fn zigzag(&mut self, value: i64) {
        self.varint(((value << 1) ^ (value >> 63)) as u64);
    }

    /// An `int64`/`int32` field (omitted when zero).
    #[inline]
    pub(crate) fn int(&mut self, field: u32, value: i64) {
        if value != 0 {
            self.tag(field, VARINT);
            self.varint(value as u64);
        }
    }

    /// A double field, written even when zero: a gauge or counter at 0 is still a value.
    #[inline]
    pub(crate) fn double(&mut self, field: u32, value: f64) {
        self.tag(field, FIXED64);
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    /// A string or bytes field (omitted when empty).
    #[inline]
    pub(crate) fn bytes(&mut self, field: u32, value: &[u8]) {
        if !value.is_empty() {
            self.tag(field, LENGTH_DELIMITED);
            self.varint(value.len() as u64);
            self.out.extend_from_slice(value);
        }
    }

    /// Bytes already encoded as fields.
    #[cfg(test)]
    pub(crate) fn raw(&mut self, encoded: &[u8]) {
        self.out.extend_from_slice(encoded);
    }

    /// Starts a nested message in `field` (or, with `None`, a length-delimited message of its
    /// own, as the delimited exposition frames each `MetricFamily`); close it with
    /// [`end`](Self::end).
    #[inline]
    pub(crate) fn begin(&mut self, field: Option<u32>) -> Nested {
        if let Some(field) = field {
            self.tag(field, LENGTH_DELIMITED);
        }
        self.out.push(0);
        Nested(self.out.len())
    }

    /// Writes the length of the message begun at `nested`.
    #[inline]
    pub(crate) fn end(&mut self, nested: Nested) {
        let start = nested.0;
        let len = self.out.len() - start;
        if len < 0x80 {
            self.out[start - 1] = len as u8;
            return;
        }
        let mut length = [0u8; 10];
        let mut size = 0;
        let mut value = len as u64;
        while value >= 0x80 {
            length[size] = value as u8 | 0x80;
            value >>= 7;
            size += 1;
        }
        length[size] = value as u8;
        size += 1;
        // Room for the longer length: move the message up.
        self.out.resize(self.out.len() + size - 1, 0);
        self.out.copy_within(start..start + len, start + size - 1);
        self.out[start - 1..start - 1 + size].copy_from_slice(&length[..size]);
    }

    /// A `LabelPair` in `field`.
    #[inline]
    pub(crate) fn label(&mut self, field: u32, name: &str, value: &str) {
        let pair = self.begin(Some(field));
        self.bytes(field::LABEL_NAME, name.as_bytes());
        self.bytes(field::LABEL_VALUE, value.as_bytes());
        self.end(pair);
    }

    /// A `google.protobuf.Timestamp` in `field`, from seconds since the Unix epoch.
    #[inline]
    pub(crate) fn timestamp(&mut self, field: u32, unix_seconds: f64) {
        let seconds = unix_seconds.floor();
        let nanos = ((unix_seconds - seconds) * 1e9) as i64;
        let timestamp = self.begin(Some(field));
        self.int(field::TIMESTAMP_SECONDS, seconds as i64);
        self.int(field::TIMESTAMP_NANOS, nanos.clamp(0, 999_999_999));
        self.end(timestamp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_wire_format() {
        let mut out = Vec::new();
        let mut w = ProtoWriter::new(&mut out);
        w.uint(1, 300);
        w.sint(2, -2);
        w.double(3, 1.5);
        w.bytes(4, b"hi");
        w.uint(5, 0);
        assert_eq!(
            out,
            [
                0x08, 0xac, 0x02, // 1: 300
                0x10, 0x03, // 2: zigzag(-2) = 3
                0x19, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, // 3: 1.5
                0x22, 2, b'h', b'i', // 4: "hi"
            ]
        );
    }

    #[test]
    fn nested_messages_get_their_exact_length() {
        for len in [0usize, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
            let mut out = vec![0xaa];
            let mut w = ProtoWriter::new(&mut out);
            let nested = w.begin(Some(4));
            w.raw(&vec![7u8; len]);
            w.end(nested);
            w.uint(1, 1);
            let mut expected = vec![0xaa, 0x22];
            let mut value = len as u64;
            while value >= 0x80 {
                expected.push(value as u8 | 0x80);
                value >>= 7;
            }
            expected.push(value as u8);
            expected.extend(std::iter::repeat_n(7u8, len));
            expected.extend([0x08, 1]);
            assert_eq!(out, expected, "{len}");
        }
    }
}
