//! The bounded `http_request_method` label.

/// An HTTP method as a label value: the RFC 9110 methods plus PATCH; anything else is `_OTHER`.
///
/// ```
/// use metrics_toolkit::http::MethodLabel;
///
/// assert_eq!(MethodLabel::from_method(&http::Method::GET).as_str(), "GET");
/// let odd = http::Method::from_bytes(b"BREW").unwrap();
/// assert_eq!(MethodLabel::from_method(&odd).as_str(), "_OTHER");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum MethodLabel {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `CONNECT`
    Connect,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
    /// `PATCH`
    Patch,
    /// Any other method.
    Other,
}

impl MethodLabel {
    /// Every label value, in index order.
    pub const ALL: &'static [MethodLabel] = &[
        Self::Get,
        Self::Head,
        Self::Post,
        Self::Put,
        Self::Delete,
        Self::Connect,
        Self::Options,
        Self::Trace,
        Self::Patch,
        Self::Other,
    ];

    /// Maps a request method to its label.
    #[inline]
    pub fn from_method(method: &http::Method) -> Self {
        match *method {
            http::Method::GET => Self::Get,
            http::Method::HEAD => Self::Head,
            http::Method::POST => Self::Post,
            http::Method::PUT => Self::Put,
            http::Method::DELETE => Self::Delete,
            http::Method::CONNECT => Self::Connect,
            http::Method::OPTIONS => Self::Options,
            http::Method::TRACE => Self::Trace,
            http::Method::PATCH => Self::Patch,
            _ => Self::Other,
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Connect => "CONNECT",
            Self::Options => "OPTIONS",
            Self::Trace => "TRACE",
            Self::Patch => "PATCH",
            Self::Other => "_OTHER",
        }
    }

    /// Position in [`MethodLabel::ALL`].
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::MethodLabel;

    #[test]
    fn every_label_is_at_its_index_and_fits_the_series_key() {
        for (index, method) in MethodLabel::ALL.iter().enumerate() {
            assert_eq!(method.index(), index);
        }
        // A series key keeps the method in 4 bits.
        assert!(MethodLabel::ALL.len() <= 16);
    }
}
