//! [`RouteSource`]: a layer's route extractor, resolved against the layer's metrics.

use std::any::Any;
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
    pub(crate) fn new<E: RouteExtractor>(extractor: E, metrics: &HttpServerMetrics) -> Self {
        // A table is recognised by its type, so `route_extractor(table)` is all users write.
        let mut extractor = Some(extractor);
        let as_table = (&mut extractor as &mut dyn Any).downcast_mut::<Option<RouteTable>>();
        if let Some(table) = as_table.and_then(Option::take) {
            let handles = table
                .templates()
                .iter()
                .map(|template| metrics.route(Some(template)))
                .collect();
            return Self::Table {
                table: Arc::new(table),
                handles,
            };
        }
        match extractor {
            Some(extractor) => Self::Extractor(Arc::new(extractor)),
            // Only a table is taken out above, and a table returned.
            None => Self::Extractor(Arc::new(super::NoRoute)),
        }
    }
}

#[cfg(test)]
mod tests {
    use metrics_toolkit::HttpServerMetrics;

    use super::RouteSource;
    use crate::{NoRoute, RouteTable};

    #[test]
    fn a_table_is_resolved_to_handles_in_its_order_and_other_extractors_are_kept() {
        let http = HttpServerMetrics::builder().build();
        let table = RouteTable::new(["/b/{id}", "/a"]).expect("table");
        let RouteSource::Table { table, handles } = RouteSource::new(table, &http) else {
            panic!("a RouteTable takes the table path");
        };
        let names: Vec<&str> = handles.iter().map(|h| h.name()).collect();
        assert_eq!(names, ["/b/{id}", "/a"]);
        assert_eq!(table.index_of("/a"), Some(1));
        assert_eq!(table.index_of("/b/7"), Some(0));
        assert!(matches!(
            RouteSource::new(NoRoute, &http),
            RouteSource::Extractor(_)
        ));
    }
}
