//! The bounded `rpc_grpc_status_code` label.

/// A gRPC status code as a label value: the codes of the gRPC specification, `0` (OK) to `16`
/// (UNAUTHENTICATED), as their numbers; anything else a server sends is `_OTHER`.
///
/// ```
/// use metrics_toolkit::http::GrpcStatusLabel;
///
/// assert_eq!(GrpcStatusLabel::from_header_value(b"5").as_str(), "5");
/// assert_eq!(GrpcStatusLabel::from_header_value(b"42").as_str(), "_OTHER");
/// assert_eq!(GrpcStatusLabel::from_header_value(b"not a code").as_str(), "_OTHER");
/// assert_eq!(GrpcStatusLabel::from_code(16).code(), Some(16));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrpcStatusLabel(u8);

/// The highest code the gRPC specification defines (UNAUTHENTICATED).
const MAX_CODE: u8 = 16;

/// Label values by index: the codes, then `_OTHER`.
const VALUES: [&str; MAX_CODE as usize + 2] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
    "_OTHER",
];

impl GrpcStatusLabel {
    /// Any value outside the specification's codes.
    pub const OTHER: Self = Self(MAX_CODE + 1);

    /// The label of a numeric status code.
    pub fn from_code(code: u32) -> Self {
        match u8::try_from(code) {
            Ok(code) if code <= MAX_CODE => Self(code),
            _ => Self::OTHER,
        }
    }

    /// The label of a `grpc-status` header or trailer value (ASCII digits).
    pub fn from_header_value(value: &[u8]) -> Self {
        // The longest valid value is two digits; longer input is not parsed (and cannot overflow).
        if value.is_empty() || value.len() > 2 || !value.iter().all(u8::is_ascii_digit) {
            return Self::OTHER;
        }
        let code = value
            .iter()
            .fold(0u32, |code, digit| code * 10 + u32::from(digit - b'0'));
        Self::from_code(code)
    }

    /// The status code, or `None` for [`OTHER`](Self::OTHER).
    pub fn code(self) -> Option<u8> {
        (self.0 <= MAX_CODE).then_some(self.0)
    }

    /// Whether the status is the server's failure, as OpenTelemetry counts gRPC server errors:
    /// UNKNOWN (2), DEADLINE_EXCEEDED (4), UNIMPLEMENTED (12), INTERNAL (13), UNAVAILABLE (14),
    /// DATA_LOSS (15), and any value outside the specification (clients read it as UNKNOWN).
    /// The other codes are the caller's doing (NOT_FOUND, INVALID_ARGUMENT, ...) or success.
    pub fn is_server_error(self) -> bool {
        matches!(self.code(), Some(2 | 4 | 12..=15) | None)
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        VALUES[usize::from(self.0)]
    }

    /// A small integer per label value, `0..=17`.
    #[inline]
    pub(crate) fn index(self) -> u32 {
        u32::from(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::GrpcStatusLabel;

    #[test]
    fn every_specified_code_is_its_own_label() {
        for code in 0..=16u32 {
            let label = GrpcStatusLabel::from_header_value(code.to_string().as_bytes());
            assert_eq!(label, GrpcStatusLabel::from_code(code));
            assert_eq!(label.as_str(), code.to_string());
            assert_eq!(label.code(), Some(code as u8));
        }
    }

    #[test]
    fn anything_else_is_other() {
        for value in [
            &b""[..],
            b"17",
            b"99",
            b"100",
            b"-1",
            b" 0",
            b"0x1",
            b"\xff",
            b"00000000001",
        ] {
            assert_eq!(
                GrpcStatusLabel::from_header_value(value),
                GrpcStatusLabel::OTHER
            );
        }
        assert_eq!(GrpcStatusLabel::from_code(17), GrpcStatusLabel::OTHER);
        assert_eq!(GrpcStatusLabel::from_code(u32::MAX), GrpcStatusLabel::OTHER);
        assert_eq!(GrpcStatusLabel::OTHER.code(), None);
        assert_eq!(GrpcStatusLabel::OTHER.as_str(), "_OTHER");
    }

    #[test]
    fn server_errors_are_the_codes_opentelemetry_names() {
        let errors: Vec<u32> = (0..=16)
            .filter(|code| GrpcStatusLabel::from_code(*code).is_server_error())
            .collect();
        assert_eq!(errors, [2, 4, 12, 13, 14, 15]);
        assert!(GrpcStatusLabel::OTHER.is_server_error());
    }

    #[test]
    fn a_leading_zero_is_the_same_code() {
        assert_eq!(GrpcStatusLabel::from_header_value(b"05").as_str(), "5");
    }
}
