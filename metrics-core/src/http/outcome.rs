//! [`Outcome`]: how a request ended.

/// How a request ended, as far as the `error_type` label is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Outcome {
    /// The response was sent completely. A 5xx status still gets `error_type="<status>"`.
    Completed,
    /// The client went away, or the request's future or body was dropped before the end.
    Aborted,
    /// The service or the response body returned an error.
    Failed,
}

impl Outcome {
    /// Every outcome, in the order of [`index`](Self::index).
    pub(super) const ALL: [Outcome; 3] = [Self::Completed, Self::Aborted, Self::Failed];

    /// The outcome's number in a series key (below 4: it has two bits there).
    pub(super) fn index(self) -> u32 {
        match self {
            Self::Completed => 0,
            Self::Aborted => 1,
            Self::Failed => 2,
        }
    }

    /// The outcome numbered `index` (an unknown number reads as `Failed`).
    pub(super) fn from_index(index: u32) -> Self {
        Self::ALL
            .get(index as usize)
            .copied()
            .unwrap_or(Self::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn every_outcome_is_found_by_its_index() {
        for outcome in Outcome::ALL {
            assert!(outcome.index() < 4);
            assert_eq!(Outcome::from_index(outcome.index()), outcome);
        }
    }
}
