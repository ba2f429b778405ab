//! Requests in flight (`http_server_active_requests`), counted without a counter.
//!
//! The live request guards of a route *are* its in-flight count. Per method and per thread
//! stripe, a route has one [`InFlightCell`], created on first use; a request holds a clone of its
//! thread's cell (an `Arc`) from start to end, so the cell's holders beyond the route's own are
//! the requests in flight. Starting and ending a request is then one reference count change on
//! a cache line that only the threads of its stripe touch: threads do not bounce one shared
//! count between their caches, and a request that ends on another thread still releases the
//! cell it took. A scrape adds the holders up.
//!
//! The cell also gives the request its route's series, so holding it is all a request needs
//! to record itself at the end, and the route cannot go away under it.

use std::sync::{Arc, OnceLock};

use super::exemplar::PendingExemplars;
use super::route_series::RouteSeries;
use super::MethodLabel;
use crate::metric::{Stripe, MAX_STRIPES};

const METHODS: usize = MethodLabel::ALL.len();

/// Requests in flight per method (index in [`MethodLabel::ALL`]); `None` for a method no
/// request ever had.
pub(super) type InFlightByMethod = [Option<i64>; METHODS];

/// One stripe's share of a route's in-flight requests of one method: the number of clones
/// held beyond the route's own. Alone on its cache lines.
#[derive(Debug)]
#[repr(align(128))]
pub(super) struct InFlightCell {
    route: Arc<RouteSeries>,
    /// The exemplars of this cell's requests until they end, created with the first one.
    exemplars: OnceLock<Box<PendingExemplars>>,
}

impl InFlightCell {
    /// The series of the route this cell counts for.
    #[inline]
    pub(super) fn route(&self) -> &RouteSeries {
        &self.route
    }

    /// Where this cell's requests keep their exemplars until they end.
    #[inline]
    pub(super) fn exemplars(&self) -> &PendingExemplars {
        self.exemplars.get_or_init(Box::default)
    }
}

/// The in-flight cells of one route: per method, then per stripe.
#[derive(Debug, Default)]
pub(super) struct InFlight {
    cells: [OnceLock<Box<StripeCells>>; METHODS],
}

type StripeCells = [OnceLock<Arc<InFlightCell>>; MAX_STRIPES];

impl InFlight {
    /// Counts a request of `method` on `stripe` as in flight until the returned cell is
    /// dropped.
    #[inline]
    pub(super) fn enter(
        &self,
        method: MethodLabel,
        stripe: Stripe,
        route: &Arc<RouteSeries>,
    ) -> Arc<InFlightCell> {
        self.cells[method.index()].get_or_init(Box::default)[stripe.index()]
            .get_or_init(|| {
                Arc::new(InFlightCell {
                    route: Arc::clone(route),
                    exemplars: OnceLock::new(),
                })
            })
            .clone()
    }

    /// Adds this route's requests in flight to `totals`; a method that never had a request
    /// on the route leaves its entry alone.
    pub(super) fn add_to(&self, totals: &mut InFlightByMethod) {
        for (method, stripes) in self.cells.iter().enumerate() {
            let Some(stripes) = stripes.get() else {
                continue;
            };
            let held: usize = stripes
                .iter()
                .filter_map(OnceLock::get)
                .map(|cell| Arc::strong_count(cell) - 1)
                .sum();
            *totals[method].get_or_insert(0) += held as i64;
        }
    }
}
