//! Reading a response body: counted, held to a size limit, kept when asked, and gunzipped
//! first when the request asked for gzip (the limit and count then apply to what it decodes
//! to, as the blackbox exporter's `body_size_limit` and uncompressed length do).
//!
//! A body kept without a size limit is held to [`MAX_KEPT_BODY`]: a server sending gigabytes
//! cannot make the prober hold them.

use std::io::{self, Write};

use bytes::{Bytes, BytesMut};

use super::response::HttpErrorKind;

/// Bytes of body kept at most when no size limit is set: 10 MiB. A longer body fails with
/// kind `BodySize`, as it would over a limit.
pub(crate) const MAX_KEPT_BODY: u64 = 10 << 20;

/// Where body bytes go, as received or after decoding.
struct Counted {
    bytes: u64,
    limit: Option<u64>,
    /// The limit is [`MAX_KEPT_BODY`], set for keeping, not by the caller.
    kept_cap: bool,
    kept: Option<BytesMut>,
}

impl Counted {
    fn over_limit(&self) -> Option<u64> {
        self.limit.filter(|&limit| self.bytes > limit)
    }
}

impl Write for Counted {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.bytes += data.len() as u64;
        if self.over_limit().is_some() {
            return Err(io::Error::other("over the body size limit"));
        }
        if let Some(kept) = &mut self.kept {
            kept.extend_from_slice(data);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A body being read.
pub(crate) struct BodySink {
    sink: Sink,
}

enum Sink {
    Plain(Counted),
    #[cfg(feature = "prober")]
    Gzip(Box<flate2::write::GzDecoder<Counted>>),
}

type Failure = (HttpErrorKind, String);

fn too_long(counted: &Counted) -> Failure {
    let limit = counted.limit.unwrap_or_default();
    let message = if counted.kept_cap {
        format!(
            "the body is longer than the {limit} bytes kept for the body regular expressions \
             (set body_size_limit to allow more)"
        )
    } else {
        format!("the body is longer than the limit of {limit} bytes")
    };
    (HttpErrorKind::BodySize, message)
}

impl BodySink {
    /// A sink with an optional size `limit` that keeps the body if `keep` (then at most
    /// [`MAX_KEPT_BODY`] bytes without a limit); `gzip` decodes it first.
    pub(crate) fn new(limit: Option<u64>, keep: bool, gzip: bool) -> Self {
        let kept_cap = keep && limit.is_none();
        let counted = Counted {
            bytes: 0,
            limit: if kept_cap { Some(MAX_KEPT_BODY) } else { limit },
            kept_cap,
            kept: keep.then(BytesMut::new),
        };
        #[cfg(feature = "prober")]
        if gzip {
            return Self {
                sink: Sink::Gzip(Box::new(flate2::write::GzDecoder::new(counted))),
            };
        }
        #[cfg(not(feature = "prober"))]
        let _ = gzip;
        Self {
            sink: Sink::Plain(counted),
        }
    }

    /// Takes the next bytes received.
    pub(crate) fn take(&mut self, data: &[u8]) -> Result<(), Failure> {
        match &mut self.sink {
            Sink::Plain(counted) => counted.write_all(data).map_err(|_| too_long(counted)),
            #[cfg(feature = "prober")]
            Sink::Gzip(decoder) => decoder
                .write_all(data)
                .map_err(|e| match decoder.get_ref() {
                    counted if counted.over_limit().is_some() => too_long(counted),
                    _ => (HttpErrorKind::Other, format!("the body is not gzip: {e}")),
                }),
        }
    }

    /// The body's length (decoded) and the body, if kept.
    // Without the prober, plain bodies are the only kind.
    #[cfg_attr(not(feature = "prober"), allow(clippy::infallible_destructuring_match))]
    pub(crate) fn finish(self) -> Result<(u64, Option<Bytes>), Failure> {
        let counted = match self.sink {
            Sink::Plain(counted) => counted,
            #[cfg(feature = "prober")]
            Sink::Gzip(mut decoder) => {
                if let Err(e) = decoder.try_finish() {
                    return Err(match decoder.get_ref() {
                        counted if counted.over_limit().is_some() => too_long(counted),
                        _ => (HttpErrorKind::Other, format!("the body is not gzip: {e}")),
                    });
                }
                decoder
                    .finish()
                    .map_err(|e| (HttpErrorKind::Other, format!("the body is not gzip: {e}")))?
            }
        };
        Ok((counted.bytes, counted.kept.map(BytesMut::freeze)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_bodies_are_counted_limited_and_kept() {
        let mut sink = BodySink::new(Some(5), true, false);
        sink.take(b"abc").unwrap();
        sink.take(b"de").unwrap();
        assert_eq!(
            sink.finish().unwrap(),
            (5, Some(Bytes::from_static(b"abcde")))
        );
        let mut sink = BodySink::new(Some(5), false, false);
        sink.take(b"abc").unwrap();
        assert_eq!(sink.take(b"def").unwrap_err().0, HttpErrorKind::BodySize);
    }

    #[test]
    fn kept_bodies_without_a_limit_are_capped() {
        let chunk = vec![b'x'; 1 << 20];
        let cap_chunks = (MAX_KEPT_BODY >> 20) as usize;
        let mut sink = BodySink::new(None, true, false);
        for _ in 0..cap_chunks {
            sink.take(&chunk).unwrap();
        }
        let error = sink.take(b"x").unwrap_err();
        assert_eq!(error.0, HttpErrorKind::BodySize);
        assert!(error.1.contains("set body_size_limit"), "{}", error.1);
        // Not kept: only counted, no cap.
        let mut sink = BodySink::new(None, false, false);
        for _ in 0..=cap_chunks {
            sink.take(&chunk).unwrap();
        }
        assert_eq!(sink.finish().unwrap().0, MAX_KEPT_BODY + (1 << 20));
        // A limit set by the caller is the one that applies.
        let mut sink = BodySink::new(Some(MAX_KEPT_BODY + 1), true, false);
        for _ in 0..cap_chunks {
            sink.take(&chunk).unwrap();
        }
        sink.take(b"x").unwrap();
        assert_eq!(sink.finish().unwrap().0, MAX_KEPT_BODY + 1);
    }

    #[cfg(feature = "prober")]
    #[test]
    fn gzip_bodies_are_counted_and_limited_decoded() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&[b'a'; 1000]).unwrap();
        let gzipped = encoder.finish().unwrap();
        assert!(gzipped.len() < 100);

        let mut sink = BodySink::new(None, true, true);
        for chunk in gzipped.chunks(7) {
            sink.take(chunk).unwrap();
        }
        let (bytes, kept) = sink.finish().unwrap();
        assert_eq!(bytes, 1000);
        assert_eq!(kept.unwrap(), vec![b'a'; 1000]);

        let mut sink = BodySink::new(Some(999), false, true);
        let error = sink.take(&gzipped).err().or_else(|| sink.finish().err());
        assert_eq!(error.map(|e| e.0), Some(HttpErrorKind::BodySize));

        let mut sink = BodySink::new(None, false, true);
        let error = sink
            .take(b"not gzip at all")
            .err()
            .or_else(|| sink.finish().err());
        assert_eq!(error.map(|e| e.0), Some(HttpErrorKind::Other));
    }
}
