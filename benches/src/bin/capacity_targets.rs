//! Synthetic scrape targets for `benches/scripts/capacity.sh`: many service instances in one
//! process, each its own `MetricsRegistry` with the real `http_server_*` families served by the
//! real `Exporter` on its own loopback port, so a scraper sees exactly what a service of that
//! many label sets exposes. Every instance records one request on each of its label sets every
//! second, so counts and sums change between scrapes as a busy service's do.
//!
//! usage: `capacity_targets INSTANCES ROUTES METHODS STATUSES`
//!
//! Prints one `127.0.0.1:PORT` line per instance, then `ready`, and serves until killed.

use std::time::Duration;

use metrics_exporter::{Exporter, Lifecycle};
use metrics_toolkit::http::{HttpServerMetrics, Outcome, Route};
use metrics_toolkit::MetricsRegistry;
use tokio::net::TcpListener;

const METHODS: [http::Method; 5] = [
    http::Method::GET,
    http::Method::POST,
    http::Method::PUT,
    http::Method::DELETE,
    http::Method::PATCH,
];
const STATUSES: [u16; 6] = [200, 404, 500, 201, 400, 503];

/// The shape of every instance.
struct Shape {
    instances: usize,
    routes: usize,
    methods: usize,
    statuses: usize,
}

fn parse(args: &[String]) -> Result<Shape, String> {
    let number = |index: usize, name: &str, max: usize| -> Result<usize, String> {
        let value: usize = args
            .get(index)
            .ok_or_else(|| format!("missing {name}"))?
            .parse()
            .map_err(|e| format!("{name}: {e}"))?;
        if value == 0 || value > max {
            return Err(format!("{name} must be 1..={max}"));
        }
        Ok(value)
    };
    if args.len() != 5 {
        return Err("expected four arguments".to_owned());
    }
    Ok(Shape {
        instances: number(1, "INSTANCES", 5000)?,
        routes: number(2, "ROUTES", 1000)?,
        methods: number(3, "METHODS", METHODS.len())?,
        statuses: number(4, "STATUSES", STATUSES.len())?,
    })
}

/// One request on every label set of `routes`.
fn record_round(routes: &[Route], shape: &Shape) {
    for route in routes {
        for method in &METHODS[..shape.methods] {
            for status in &STATUSES[..shape.statuses] {
                let mut request = route.start_request(method);
                request.set_status(*status);
                request.finish(Outcome::Completed);
            }
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let shape = match parse(&args) {
        Ok(shape) => shape,
        Err(error) => {
            eprintln!("{error}\nusage: capacity_targets INSTANCES ROUTES METHODS STATUSES");
            std::process::exit(2);
        }
    };
    let mut instances = Vec::with_capacity(shape.instances);
    for _ in 0..shape.instances {
        // No process_* series: every instance shares this process, and they would be equal.
        let registry = MetricsRegistry::builder()
            .service_name("capacity")
            .process_metrics(false)
            .build()
            .map_err(std::io::Error::other)?;
        let http = HttpServerMetrics::builder().register(&registry);
        let routes: Vec<Route> = (0..shape.routes)
            .map(|r| http.route(Some(&format!("/api/v1/resource{r}/{{id}}"))))
            .collect();
        record_round(&routes, &shape);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("{}", listener.local_addr()?);
        // Gzip off: on loopback it would only spend the CPU the stores are measured on.
        let exporter = Exporter::new(registry, Lifecycle::new()).gzip(false);
        tokio::spawn(exporter.serve(listener));
        instances.push(routes);
    }
    println!("ready");
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        for routes in &instances {
            record_round(routes, &shape);
        }
    }
}
