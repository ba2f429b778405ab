//! Reading a response body: counted, held to a size limit, kept when asked, and gunzipped
//! first when the request asked for gzip (the limit and count then apply to what it decodes
//! to, as the blackbox exporter's `body_size_limit` and uncompressed length do).

use std::io::{self, Write};

use bytes::{Bytes, BytesMut};

use super::response::HttpErrorKind;

/// Where body bytes go, as received or after decoding.
struct Counted {
    bytes: u64,
    limit: Option<u64>,
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

fn too_long(limit: u64) -> Failure {
    (
        HttpErrorKind::BodySize,
        format!("the body is longer than the limit of {limit} bytes"),
    )
}

impl BodySink {
    /// A sink with an optional size `limit` that keeps the body if `keep`; `gzip` decodes it
    /// first.
    pub(crate) fn new(limit: Option<u64>, keep: bool, gzip: bool) -> Self {
        let counted = Counted {
            bytes: 0,
            limit,
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
            Sink::Plain(counted) => counted
                .write_all(data)
                .map_err(|_| too_long(counted.limit.unwrap_or_default())),
            #[cfg(feature = "prober")]
            Sink::Gzip(decoder) => {
                decoder
                    .write_all(data)
                    .map_err(|e| match decoder.get_ref().over_limit() {
                        Some(limit) => too_long(limit),
                        None => (HttpErrorKind::Other, format!("the body is not gzip: {e}")),
                    })
            }
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
                    return Err(match decoder.get_ref().over_limit() {
                        Some(limit) => too_long(limit),
                        None => (HttpErrorKind::Other, format!("the body is not gzip: {e}")),
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
