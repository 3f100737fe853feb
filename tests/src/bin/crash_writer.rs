//! A child process for the crash test: opens the embedded store in the directory given as the first
//! argument and appends forever from many concurrent writers, printing one line per acknowledged append
//! (`ack <stream> <first version> <count> <first position>`). The test SIGKILLs it at random moments and
//! checks that every acknowledged event survived. Payloads and event ids are derived from the stream and
//! version, so the test can recompute them byte for byte.

use std::io::Write;

use infra::{EmbeddedStore, EventStore, ExpectedVersion};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or_else(|| anyhow::anyhow!("usage: crash-writer <data-dir> [writers]"))?;
    let writers: usize = args.next().map_or(Ok(16), |w| w.parse())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let store = match EmbeddedStore::open_dir(&dir) {
            Ok(store) => store,
            Err(e) => {
                eprintln!("error[{}]: {e}", e.code());
                std::process::exit(3);
            }
        };
        println!("ready {}", store.head_position_now());
        let mut tasks = Vec::new();
        for w in 0..writers {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let name = format!("crash-{w}");
                let stream = tests::stream(&name);
                let mut expected = ExpectedVersion::NoStream;
                let mut next_version = 0u64;
                let mut round = 0u64;
                loop {
                    round += 1;
                    let count = 1 + (round % 3) as u32;
                    let batch = tests::crash::events(&name, next_version, count);
                    match store.append(&stream, expected, batch).await {
                        Ok(Ok(appended)) => {
                            let line =
                                format!("ack {name} {next_version} {count} {}\n", appended.first_position);
                            std::io::stdout().lock().write_all(line.as_bytes()).expect("stdout");
                            next_version = appended.next_expected_version + 1;
                            expected = ExpectedVersion::Exact(appended.next_expected_version);
                        }
                        Ok(Err(conflict)) => {
                            // Only after a restart: an append that was durable but never acknowledged.
                            next_version = conflict.actual.map_or(0, |v| v + 1);
                            expected =
                                conflict.actual.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
                        }
                        Err(e) => {
                            eprintln!("error[{}]: {e}", e.code());
                            std::process::exit(4);
                        }
                    }
                }
            }));
        }
        // The writers append until the test kills this process.
        let _writers = tasks;
        std::future::pending::<anyhow::Result<()>>().await
    })
}
