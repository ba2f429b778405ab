//! The bounded `http_request_method` label.

/// An HTTP method as a label value: the RFC 9110 methods plus PATCH; anything else is `_OTHER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum MethodLabel {
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
    pub(crate) const ALL: &'static [MethodLabel] = &[
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
    pub(crate) fn from_method(method: &http::Method) -> Self {
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
    pub(crate) fn as_str(self) -> &'static str {
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
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::MethodLabel;

    #[test]
    fn known_methods_are_their_own_label_and_others_are_other() {
        assert_eq!(MethodLabel::from_method(&http::Method::GET).as_str(), "GET");
        assert_eq!(
            MethodLabel::from_method(&http::Method::PATCH).as_str(),
            "PATCH"
        );
        let odd = http::Method::from_bytes(b"BREW").expect("a method");
        assert_eq!(MethodLabel::from_method(&odd).as_str(), "_OTHER");
    }

    #[test]
    fn every_label_is_at_its_index_and_fits_the_series_key() {
        for (index, method) in MethodLabel::ALL.iter().enumerate() {
            assert_eq!(method.index(), index);
        }
        // A series key keeps the method in 4 bits.
        assert!(MethodLabel::ALL.len() <= 16);
    }
}
