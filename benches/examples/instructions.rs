//! Runs `GET /users/42` through one variant N times, for `scripts/instructions.sh` to count
//! instructions with callgrind: `instructions VARIANT N`.

#[path = "../benches/drive.rs"]
mod drive;
#[path = "../variants.rs"]
mod variants;

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
    let router = variant.app();
    let mut bytes = 0;
    for _ in 0..count {
        bytes += drive::one_request(&router);
    }
    // Printing the total keeps the loop from being optimized away.
    println!("{} {count} requests, {bytes} body bytes", variant.name());
}
