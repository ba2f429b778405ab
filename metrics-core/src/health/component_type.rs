//! [`ComponentType`]: what a check looks at, as `/health` names it.

use std::fmt;

/// The kind of component a check looks at: the `componentType` of its entry in `/health`
/// (draft-inadarei-api-health-check, "componentType": "Pre-defined values include:
/// component, datastore, system"; a value may also be "a common and standard term from a
/// well-known source such as schema.org, IANA or microformats, or a URI").
///
/// Whether a failure fails the service is a different matter: that is the check's
/// [`Kind`](super::Kind).
///
/// ```
/// use metrics_toolkit::health::ComponentType;
///
/// assert_eq!(ComponentType::default().as_str(), "component");
/// assert_eq!(ComponentType::Datastore.as_str(), "datastore");
/// assert_eq!(ComponentType::Other("queue".into()).as_str(), "queue");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ComponentType {
    /// `component`: a part of the service or a service it depends on (the default).
    #[default]
    Component,
    /// `datastore`: a database, cache or other store.
    Datastore,
    /// `system`: the host, a disk, the network.
    System,
    /// Any other term or URI, written as given (JSON-escaped).
    Other(String),
}

impl ComponentType {
    /// The value of `componentType`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Component => "component",
            Self::Datastore => "datastore",
            Self::System => "system",
            Self::Other(value) => value,
        }
    }
}

impl fmt::Display for ComponentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
