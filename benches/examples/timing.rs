//! Nanoseconds added per request, in-process and single-threaded, measured interleaved: each
//! round times a batch of every variant (in rotating order), and the added cost is the median
//! over rounds of (variant - bare) within the round, so drifts of a noisy machine cancel out.
//! Also printed: each variant against tower-http's gauge, as the median per-round difference
//! and the number of rounds in which the variant was cheaper.
//! `timing [ROUNDS] [BATCH]` (defaults 31 and 20000); run by `scripts/timing.sh`.

use std::time::Instant;

use benches::variants::Variant;

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(31);
    let batch: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let apps: Vec<_> = Variant::ALL.iter().map(|v| (*v, v.app())).collect();
    for (variant, app) in &apps {
        for _ in 0..1_000 {
            variant.send(app);
        }
    }
    let mut per_round: Vec<Vec<f64>> = vec![Vec::new(); apps.len()];
    for round in 0..rounds {
        let mut this_round = vec![0.0; apps.len()];
        for offset in 0..apps.len() {
            let index = (round + offset) % apps.len();
            let (variant, app) = &apps[index];
            let started = Instant::now();
            let mut bytes = 0;
            for _ in 0..batch {
                bytes += variant.send(app);
            }
            assert!(bytes > 0);
            this_round[index] = started.elapsed().as_nanos() as f64 / batch as f64;
        }
        for (index, ns) in this_round.into_iter().enumerate() {
            per_round[index].push(ns);
        }
    }
    let bare = &per_round[0];
    let added: Vec<f64> = per_round
        .iter()
        .map(|ns| median(ns.iter().zip(bare).map(|(v, b)| v - b).collect()))
        .collect();
    let position = |wanted: Variant| Variant::ALL.iter().position(|v| *v == wanted);
    let axum_prometheus = position(Variant::AxumPrometheus).map(|i| added[i]);
    // Against tower-http's gauge within each round: the median difference, and in how many
    // rounds the variant was the cheaper of the two.
    let tower_http = position(Variant::TowerHttpInFlight).map(|i| per_round[i].clone());
    println!(
        "{:<32} {:>10} {:>10} {:>12} {:>15} {:>14}",
        "variant", "ns/request", "added ns", "/axum-prom.", "-tower-http ns", "rounds cheaper"
    );
    for (index, (variant, _)) in apps.iter().enumerate() {
        let share = axum_prometheus.map_or("?".into(), |a| format!("{:.3}", added[index] / a));
        let (versus, cheaper) = match &tower_http {
            Some(tower) => {
                let differences: Vec<f64> = per_round[index]
                    .iter()
                    .zip(tower)
                    .map(|(v, t)| v - t)
                    .collect();
                let cheaper = differences.iter().filter(|d| **d < 0.0).count();
                (
                    format!("{:+.0}", median(differences)),
                    format!("{cheaper}/{rounds}"),
                )
            }
            None => ("?".into(), "?".into()),
        };
        println!(
            "{:<32} {:>10.0} {:>10.0} {:>12} {:>15} {:>14}",
            variant.name(),
            median(per_round[index].clone()),
            added[index],
            share,
            versus,
            cheaper
        );
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
