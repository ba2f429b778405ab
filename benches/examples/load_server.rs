//! Serves one variant's router on a single-threaded runtime for `scripts/load.sh`:
//! `load_server VARIANT ADDR` (prints `listening on ADDR` when ready).

use benches::variants;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_default();
    let Some(variant) = variants::Variant::from_name(&name) else {
        let names: Vec<_> = variants::Variant::ALL.iter().map(|v| v.name()).collect();
        eprintln!(
            "usage: load_server VARIANT ADDR (VARIANT one of {})",
            names.join(", ")
        );
        std::process::exit(2);
    };
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!("listening on {}", listener.local_addr()?);
        let app = axum::ServiceExt::<axum::extract::Request>::into_make_service(variant.app());
        axum::serve(listener, app).await
    })
}
