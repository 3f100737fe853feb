//! A child process for the flow crash test: opens the embedded store in the directory given as the first
//! argument and runs the order-fulfilment process manager until the log is quiet, printing `done`. The
//! test SIGKILLs it at random moments and checks that every flow completes exactly once.

use command_api::{CommandBus, FileCheckpoints, ProcessRunner};
use domain::process::order_fulfilment::OrderFulfilment;
use infra::EmbeddedStore;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: flow-runner <data-dir>"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let store = EmbeddedStore::open_dir(std::path::Path::new(&dir).join("log"))?;
        let bus = CommandBus::new(store.clone());
        // A small save interval: kills land between commands, between events and between checkpoints.
        let mut runner = ProcessRunner::new(bus, OrderFulfilment, FileCheckpoints::new(&dir), 3);
        println!("started");
        runner.run_until_quiet().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("done {}", runner.stats.commands_done);
        anyhow::Ok(())
    })
}
