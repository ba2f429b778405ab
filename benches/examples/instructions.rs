//! Runs `GET /users/42` through one variant N times, for `scripts/instructions.sh` to count
//! instructions with callgrind: `instructions VARIANT N`. Only the function `measured` is
//! counted, after a warm-up, so start-up work (clock calibration, first label sets) is left out.

use benches::variants;

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_default();
    let Some(variant) = variants::Variant::from_name(&name) else {
        let names: Vec<_> = variants::Variant::ALL.iter().map(|v| v.name()).collect();
        eprintln!(
            "usage: instructions VARIANT N (VARIANT one of {})",
            names.join(", ")
        );
        std::process::exit(2);
    };
    let count: usize = match args.next().map(|n| n.parse()) {
        Some(Ok(n)) => n,
        _ => {
            eprintln!("usage: instructions VARIANT N (N a request count)");
            std::process::exit(2);
        }
    };
    let app = variant.app();
    // One-time work (label sets, per-thread state) happens here, outside the counted function.
    for _ in 0..1_000 {
        variant.send(&app);
    }
    let bytes = measured(&app, count, variant);
    // Printing the total keeps the loop from being optimized away.
    println!("{} {count} requests, {bytes} body bytes", variant.name());
}

/// The requests callgrind counts (`--toggle-collect=*measured*`).
#[inline(never)]
fn measured(app: &variants::App, count: usize, variant: variants::Variant) -> usize {
    let mut bytes = 0;
    for _ in 0..count {
        bytes += variant.send(app);
    }
    bytes
}
