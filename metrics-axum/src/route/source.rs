//! [`RouteSource`]: where a layer's route labels come from, resolved against its metrics.

use std::sync::Arc;

use metrics_toolkit::http::Route;
use metrics_toolkit::HttpServerMetrics;

use super::{RouteExtractor, RouteTable};

/// Where a layer's route labels come from.
#[derive(Clone)]
pub(crate) enum RouteSource {
    /// A [`RouteTable`] whose templates became route handles when the layer was configured: a
    /// match is an index into `handles`, with no template string compared or hashed.
    Table {
        table: Arc<RouteTable>,
        handles: Arc<[Route]>,
    },
    /// Any other extractor: its templates go through each service's route cache.
    Extractor(Arc<dyn RouteExtractor>),
}

impl RouteSource {
    /// The layer matches paths against `table` itself (`MetricsLayer::routes`).
    pub(crate) fn table(table: RouteTable, metrics: &HttpServerMetrics) -> Self {
        let handles = table
            .labels()
            .iter()
            .map(|label| metrics.route(label.as_deref()))
            .collect();
        Self::Table {
            table: Arc::new(table),
            handles,
        }
    }

    /// Labels from `extractor` (`MetricsLayer::route_extractor`).
    pub(crate) fn extractor(extractor: impl RouteExtractor) -> Self {
        Self::Extractor(Arc::new(extractor))
    }
}

#[cfg(test)]
mod tests {
    use metrics_toolkit::HttpServerMetrics;

    use super::RouteSource;
    use crate::RouteTable;

    #[test]
    fn a_table_is_resolved_to_handles_in_its_order() {
        let http = HttpServerMetrics::builder().build();
        let table = RouteTable::new(["/b/{id}", "/a"]).expect("table");
        let RouteSource::Table { table, handles } = RouteSource::table(table, &http) else {
            panic!("a RouteTable takes the table path");
        };
        let names: Vec<&str> = handles.iter().map(|h| h.name()).collect();
        assert_eq!(names, ["/b/{id}", "/a"]);
        assert_eq!(table.index_of("/a"), Some(1));
        assert_eq!(table.index_of("/b/7"), Some(0));
    }
}
