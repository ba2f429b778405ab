//! [`Secret`]: a credential kept out of `Debug` output, and compared in constant time.

use std::fmt;
use std::sync::Arc;

use subtle::ConstantTimeEq;

/// A secret that never shows in `Debug` output.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) Arc<[u8]>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Compares in time that depends only on the presented value's length, so neither the
/// expected value's bytes nor its length leak.
pub(crate) fn constant_time_eq(expected: &[u8], presented: &[u8]) -> bool {
    if expected.is_empty() {
        return false;
    }
    let mut equal = (presented.len() as u64).ct_eq(&(expected.len() as u64));
    for (i, byte) in presented.iter().enumerate() {
        equal &= byte.ct_eq(&expected[i % expected.len()]);
    }
    equal.into()
}
