//! `erp audit verify`: runs the independent log check and reports it for a person or a machine.

use std::process::ExitCode;

use crate::cli::VerifyArgs;

pub fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    if let Some(store) = args.store.as_deref().map(str::trim).filter(|s| !s.is_empty() && *s != "embedded") {
        if infra::kurrentdb::is_kurrentdb_url(store) {
            return verify_kurrentdb(args, store);
        }
        anyhow::ensure!(args.store_namespace.is_none(), "a store namespace is for a KurrentDB store");
        return verify_postgres(args, store);
    }
    anyhow::ensure!(args.store_namespace.is_none(), "a store namespace is for a KurrentDB store");
    anyhow::ensure!(
        args.store_schema.is_none(),
        "a store schema is for a PostgreSQL store; the embedded log has none"
    );
    anyhow::ensure!(args.store_connections.is_none(), crate::serve::STORE_CONNECTIONS_NOT_POSTGRES);
    if !args.data_dir.is_dir() {
        anyhow::bail!("data directory {} does not exist", args.data_dir.display());
    }
    let report = infra::embedded::verify_data_dir(&crate::log_dir(&args.data_dir))?;
    let head_hash = report.head_hash.to_hex();
    let hash_mismatch = args
        .expect_head_hash
        .as_ref()
        .filter(|expected| !expected.eq_ignore_ascii_case(&head_hash) && report.is_ok());
    if args.json {
        let json = serde_json::json!({
            "ok": report.is_ok() && hash_mismatch.is_none(),
            "head_position": report.head_position,
            "head_hash": head_hash,
            "segments": report.segments,
            "frames": report.frames,
            "streams": report.streams,
            "torn_tail": report.torn_tail.as_ref().map(|t| serde_json::json!({
                "segment": t.segment, "offset": t.offset, "bytes": t.bytes_dropped, "reason": t.reason,
            })),
            "first_bad_position": report.problem.as_ref().map(|p| p.position),
            "problem": report.problem.as_ref().map(|p| serde_json::json!({
                "position": p.position, "segment": p.segment, "offset": p.offset, "reason": p.reason,
            })),
            "expected_head_hash": args.expect_head_hash,
        });
        println!("{json}");
    } else {
        println!("data directory  {}", args.data_dir.display());
        println!("segments        {}", report.segments);
        println!("frames          {}", report.frames);
        println!("streams         {}", report.streams);
        println!("head position   {}", report.head_position);
        println!("head hash       {head_hash}");
        if let Some(torn) = &report.torn_tail {
            println!(
                "torn tail       {} bytes at {} offset {} ({}); the next open cuts them off (never acknowledged)",
                torn.bytes_dropped, torn.segment, torn.offset, torn.reason
            );
        }
    }
    if let Some(problem) = &report.problem {
        eprintln!(
            "verify FAILED at position {}: {} offset {}: {}",
            problem.position, problem.segment, problem.offset, problem.reason
        );
        return Ok(ExitCode::from(1));
    }
    if let Some(expected) = hash_mismatch {
        eprintln!("verify FAILED: head hash is {head_hash}, expected {expected}");
        return Ok(ExitCode::from(1));
    }
    if !args.json {
        println!(
            "verify OK: every frame, the hash chain, positions 1..={} and every stream's versions",
            report.head_position
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `erp audit verify --store postgres://...`: walks every stream's hash chain of a PostgreSQL store
/// (ADR 0015), opened read-only (a schema without a store is refused, never created).
fn verify_postgres(args: &VerifyArgs, url: &str) -> anyhow::Result<ExitCode> {
    if !infra::postgres::is_postgres_url(url) {
        // Only the scheme is repeated: the rest may hold a password.
        anyhow::bail!(
            "store {:?} is not known: `embedded` or a `postgres://` URL",
            infra::postgres::url_scheme(url)
        );
    }
    let mut config = crate::serve::postgres_config(url, args.store_schema.as_deref(), args.store_connections);
    config.create_or_migrate = false;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = runtime.block_on(async {
        let store = infra::PostgresStore::open(config)
            .await
            .map_err(|e| crate::serve::store_error("open the PostgreSQL store", &e))?;
        anyhow::Ok((store.schema().to_string(), store.verify().await?))
    });
    let (schema, report) = report?;
    print_heads_report(args, "postgres", ("schema", &schema), &report)
}

/// `erp audit verify --store kurrentdb://...`: walks the log of a KurrentDB store in position order
/// and every stream's hash chain (ADR 0016); only reads.
fn verify_kurrentdb(args: &VerifyArgs, url: &str) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.store_schema.is_none(),
        "a store schema is for a PostgreSQL store; a KurrentDB store has a namespace"
    );
    anyhow::ensure!(args.store_connections.is_none(), crate::serve::STORE_CONNECTIONS_NOT_POSTGRES);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let namespace = args.store_namespace.clone();
    let report = runtime.block_on(async {
        let store = crate::serve::open_kurrentdb(url, namespace.as_deref()).await?;
        store_verify_kurrentdb(&store).await
    })?;
    print_heads_report(args, "kurrentdb", ("namespace", namespace.as_deref().unwrap_or("")), &report)
}

#[cfg(feature = "kurrentdb")]
async fn store_verify_kurrentdb(
    store: &infra::AnyStore,
) -> anyhow::Result<infra::postgres::PostgresVerifyReport> {
    match store {
        infra::AnyStore::Kurrent(s) => Ok(s.verify().await?),
        _ => anyhow::bail!("not a KurrentDB store"),
    }
}

#[cfg(not(feature = "kurrentdb"))]
async fn store_verify_kurrentdb(
    _: &infra::AnyStore,
) -> anyhow::Result<infra::postgres::PostgresVerifyReport> {
    anyhow::bail!(infra::kurrentdb::NOT_BUILT_IN)
}

/// Prints a per-stream chain check (PostgreSQL's or KurrentDB's) and answers its exit code.
fn print_heads_report(
    args: &VerifyArgs,
    store: &str,
    (where_label, where_value): (&str, &str),
    report: &infra::postgres::PostgresVerifyReport,
) -> anyhow::Result<ExitCode> {
    let digest = report.heads_digest.to_hex();
    let digest_mismatch = args
        .expect_head_hash
        .as_ref()
        .filter(|expected| !expected.eq_ignore_ascii_case(&digest) && report.is_ok());
    if args.json {
        let mut json = serde_json::json!({
            "ok": report.is_ok() && digest_mismatch.is_none(),
            "store": store,
            "streams": report.streams,
            "commits": report.commits,
            "events": report.events,
            "heads_digest": digest,
            "problem": report.problem.as_ref().map(|p| serde_json::json!({
                "stream": p.stream, "version": p.version, "position": p.position, "reason": p.reason,
            })),
            "expected_heads_digest": args.expect_head_hash,
        });
        json[where_label] = where_value.into();
        println!("{json}");
    } else {
        println!("{where_label:<16}{where_value}");
        println!("streams         {}", report.streams);
        println!("commits         {}", report.commits);
        println!("events          {}", report.events);
        println!("heads digest    {digest}");
    }
    if let Some(p) = &report.problem {
        eprintln!(
            "verify FAILED at stream {} version {} (position {}): {}",
            p.stream, p.version, p.position, p.reason
        );
        return Ok(ExitCode::from(1));
    }
    if let Some(expected) = digest_mismatch {
        eprintln!("verify FAILED: heads digest is {digest}, expected {expected}");
        return Ok(ExitCode::from(1));
    }
    if !args.json {
        println!("verify OK: every stream's hash chain, versions and positions");
    }
    Ok(ExitCode::SUCCESS)
}
