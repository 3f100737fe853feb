//! The `erp` binary, black box: `audit verify` on intact, damaged and missing logs, and the benchmark
//! output format.

use std::process::Command;

use clap::Parser;

use infra::{EmbeddedStore, EventStore, ExpectedVersion};

fn erp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_erp"))
}

async fn store_with_three_commits(dir: &std::path::Path) -> String {
    let store = EmbeddedStore::open_dir(dir).unwrap();
    for count in [1, 2, 3] {
        let events = tests::events(tests::command(), count);
        store.append(&tests::stream("order-1"), ExpectedVersion::Any, events).await.unwrap().unwrap();
    }
    let hash = store.head_hash().to_hex();
    drop(store);
    hash
}

#[tokio::test]
async fn verify_prints_head_position_and_hash_of_an_intact_log_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let hash = store_with_three_commits(dir.path()).await;
    let out = erp().args(["audit", "verify", "--data-dir"]).arg(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("head position   6"), "{stdout}");
    assert!(stdout.contains(&hash), "{stdout}");
    assert!(stdout.contains("verify OK"), "{stdout}");

    let out = erp()
        .args(["audit", "verify", "--json", "--expect-head-hash", &hash, "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["head_position"], 6);
    assert_eq!(json["head_hash"], hash);
}

#[tokio::test]
async fn verify_exits_1_naming_the_first_bad_position_after_a_bit_flip() {
    let dir = tempfile::tempdir().unwrap();
    store_with_three_commits(dir.path()).await;
    let segment = dir.path().join("00000000.seg");
    let mut bytes = std::fs::read(&segment).unwrap();
    // The second frame starts where the first ends: 12 header bytes plus the first body.
    let first_len = 12 + u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    bytes[first_len + 40] ^= 0x04;
    std::fs::write(&segment, bytes).unwrap();

    let out = erp().args(["audit", "verify", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("verify FAILED at position 2"), "{stderr}");
    assert!(stderr.contains("00000000.seg"), "{stderr}");

    let out = erp().args(["audit", "verify", "--json", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["first_bad_position"], 2);
    assert_eq!(json["ok"], false);
}

#[tokio::test]
async fn verify_fails_when_the_head_hash_differs_from_the_one_expected() {
    let dir = tempfile::tempdir().unwrap();
    store_with_three_commits(dir.path()).await;
    let out = erp()
        .args(["audit", "verify", "--expect-head-hash", &"0".repeat(64), "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected"));
}

#[test]
fn verify_of_a_missing_directory_is_a_clear_error() {
    let out = erp().args(["audit", "verify", "--data-dir", "/nonexistent/erp-data"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn an_unknown_subcommand_is_a_usage_error() {
    let out = erp().args(["frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bench_append_prints_one_json_object_with_rate_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let out = erp()
        .args(["bench", "append", "--concurrency", "4", "--events", "200", "--runs", "1", "--probe-mib", "8"])
        .args(["--json", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["workload"], "W1 append-single");
    assert_eq!(json["events"], 200);
    assert!(json["events_per_sec"].as_f64().unwrap() > 0.0);
    assert!(json["limit_events_per_sec"].as_f64().unwrap() > 0.0);
}

#[test]
fn bench_replay_reports_both_decode_paths() {
    let dir = tempfile::tempdir().unwrap();
    let out = erp()
        .args(["bench", "replay", "--events", "5000", "--runs", "1", "--json", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["events"] == 5000));
}

#[test]
fn bench_order_to_cash_completes_every_flow_and_reports_flows_per_second() {
    let dir = tempfile::tempdir().unwrap();
    let out = erp()
        .args([
            "bench",
            "order-to-cash",
            "--orders",
            "40",
            "--concurrency",
            "4",
            "--runs",
            "1",
            "--json",
            "--dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["orders"], 40);
    // placed, 3 stock reservations, 3 line reservations, ready to pick; shipment created, picked,
    // shipped; 3 stock issues, 3 lines shipped on the order, order shipped; 3 lines costed, shipment
    // costed; shipment claimed for the invoice, invoice issued, receipt recorded, payment allocated,
    // invoice paid.
    assert_eq!(json["events_per_flow"], 27.0);
    assert!(json["flows_per_sec"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn projections_status_shows_the_lag_and_a_rebuild_writes_snapshots_that_catch_up_with_the_head() {
    let dir = tempfile::tempdir().unwrap();
    store_with_three_commits(dir.path()).await;
    let json_lines = |out: &std::process::Output| -> Vec<serde_json::Value> {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let list = erp().args(["projections", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(listed.contains("ledger") && listed.contains("open-items"), "{listed}");

    let status =
        erp().args(["projections", "status", "--json", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert_eq!(json_lines(&status).len(), 7, "every read model is listed");
    for model in json_lines(&status) {
        assert_eq!((model["head"].as_u64(), model["lag"].as_u64()), (Some(6), Some(6)), "{model}");
        assert_eq!(model["state"], "no snapshot");
    }
    // One model by name: only its snapshot is written.
    let one = erp()
        .args(["projections", "rebuild", "stock", "--json", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(json_lines(&one).iter().map(|m| m["name"].clone()).collect::<Vec<_>>(), vec!["stock"]);
    let status =
        erp().args(["projections", "status", "--json", "--data-dir"]).arg(dir.path()).output().unwrap();
    let snapshotted: Vec<_> = json_lines(&status)
        .into_iter()
        .filter(|m| m["state"] == "snapshot")
        .map(|m| m["name"].clone())
        .collect();
    assert_eq!(snapshotted, vec!["stock"]);
    let rebuilt =
        erp().args(["projections", "rebuild", "--json", "--data-dir"]).arg(dir.path()).output().unwrap();
    let rebuilt = json_lines(&rebuilt);
    assert_eq!(rebuilt.len(), 7);
    assert!(rebuilt.iter().all(|m| m["position"].as_u64() == Some(6)), "{rebuilt:?}");
    let status =
        erp().args(["projections", "status", "--json", "--data-dir"]).arg(dir.path()).output().unwrap();
    for model in json_lines(&status) {
        assert_eq!((model["position"].as_u64(), model["lag"].as_u64()), (Some(6), Some(0)), "{model}");
    }

    let unknown = erp()
        .args(["projections", "rebuild", "stock-levels", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("no read model named \"stock-levels\"") && stderr.contains("ledger"), "{stderr}");
}

#[test]
fn the_read_side_benches_run_over_a_kept_log() {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept");
    let run = |args: &[&str]| -> serde_json::Value {
        let out = erp().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    let kept_arg = kept.to_str().unwrap();
    let made = run(&[
        "bench",
        "order-to-cash",
        "--orders",
        "30",
        "--concurrency",
        "3",
        "--runs",
        "1",
        "--vouchers",
        "--days",
        "60",
        "--json",
        "--keep",
        kept_arg,
    ]);
    assert_eq!(made["orders"], 30);
    let log = kept.join("log");
    let log = log.to_str().unwrap();
    let w2 = run(&["bench", "projections", "--data-dir", log, "--runs", "1", "--json"]);
    assert!(w2["events"].as_u64().unwrap() > 1_000, "{w2}");
    let w5 = run(&["bench", "cold-start", "--data-dir", log, "--behind", "100", "--runs", "1", "--json"]);
    assert_eq!(w5["tail_events"], 100, "{w5}");
    let queries = run(&["bench", "queries", "--data-dir", log, "--queries", "3", "--json"]);
    assert_eq!(queries["results"].as_array().unwrap().len(), 4, "{queries}");
}

/// `erp migrate` copies an embedded log to PostgreSQL and on to another data directory, proving each
/// copy; `erp audit verify --store` checks the PostgreSQL copy's chains; a second run copies nothing;
/// refusals exit 1 with a stable code and never repeat a URL.
#[tokio::test]
async fn migrate_copies_a_log_through_postgres_and_back_and_audit_verify_checks_the_postgres_copy() {
    let Some(schema) = tests::postgres::Schema::fresh() else { return };
    let dir = tempfile::tempdir().unwrap();
    let head_hash = store_with_three_commits(dir.path()).await;
    let to_postgres = |json: bool| {
        let mut c = erp();
        c.args(["migrate", "--from"]).arg(dir.path()).args([
            "--to",
            schema.url(),
            "--to-schema",
            schema.name(),
        ]);
        if json {
            c.arg("--json");
        }
        c.output().unwrap()
    };
    let out = to_postgres(false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("events          6 in 3 commits"), "{stdout}");
    assert!(stdout.contains("migrate OK"), "{stdout}");
    assert!(stdout.contains(&head_hash), "the source's head hash is reported: {stdout}");

    let out = to_postgres(true);
    assert!(out.status.success());
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((again["copied"].as_u64(), again["already_copied"].as_u64()), (Some(0), Some(6)), "{again}");

    let out = erp()
        .args(["audit", "verify", "--json", "--store", schema.url(), "--store-schema", schema.name()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let verified: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((verified["events"].as_u64(), verified["commits"].as_u64()), (Some(6), Some(3)), "{verified}");
    assert_eq!(verified["heads_digest"], again["target"]["hash"], "{verified} {again}");

    let back = tempfile::tempdir().unwrap();
    let out = erp()
        .args(["migrate", "--json", "--from", schema.url(), "--from-schema", schema.name(), "--to"])
        .arg(back.path().join("data"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let home: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(home["content_digest"], again["content_digest"], "{home} {again}");
    // Laid out as a service's data directory, and an intact log.
    let out = erp().args(["audit", "verify", "--data-dir"]).arg(back.path().join("data")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Copying the first log into the copy-back is fine (the same log); another log is refused.
    let other = tempfile::tempdir().unwrap();
    store_with_three_commits(other.path()).await;
    let out = erp()
        .args(["migrate", "--from"])
        .arg(other.path())
        .arg("--to")
        .arg(back.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("migrate.target_diverged"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A source without a log, and a PostgreSQL source schema without a store, are refused, creating nothing.
    let empty = tempfile::tempdir().unwrap();
    let out =
        erp().args(["migrate", "--from"]).arg(empty.path()).arg("--to").arg(other.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no log"));
    let secret = schema.url().replacen("postgres://", "postgres://user:hunter2@", 1);
    let out = erp()
        .args(["migrate", "--from", &secret, "--from-schema", "erp_no_such_store", "--to"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

/// `erp bench append --store postgres://...` runs W1 on a fresh schema of the server and drops it after.
#[test]
fn bench_append_runs_on_postgres_in_a_schema_of_its_own_and_drops_it() {
    let Some(url) = tests::postgres::url() else {
        eprintln!(
            "SKIPPED: {} is not set, so this PostgreSQL test did not run (CI sets it)",
            tests::postgres::URL_VAR
        );
        return;
    };
    let out = erp()
        .args([
            "bench",
            "append",
            "--concurrency",
            "2",
            "--events",
            "40",
            "--runs",
            "1",
            "--json",
            "--store",
            &url,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((json["store"].as_str(), json["events"].as_u64()), (Some("postgres"), Some(40)), "{json}");
    let out = erp().args(["bench", "replay", "--store", &url]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a workload of the embedded store only refuses --store");
}

/// `erp serve`'s configuration as the command line gives it, without starting anything.
fn serve_config(args: &[&std::ffi::OsStr]) -> app::serve::ServeConfig {
    let cli =
        app::cli::Cli::try_parse_from([std::ffi::OsStr::new("erp"), "serve".as_ref()].iter().chain(args))
            .expect("a valid command line");
    let app::cli::Command::Serve(args) = cli.command else { panic!("parsed as another command") };
    app::serve::ServeConfig::from_args(&args).expect("a readable configuration")
}

/// The pool size is read from the configuration file (`store_connections`) and a flag overrides it, as
/// every other setting of `erp serve`; left out everywhere, the store's default applies.
#[test]
fn the_pool_size_comes_from_the_configuration_file_and_the_flag_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("erp.toml");
    std::fs::write(&file, "store = \"postgres://erp@db.example/erp\"\nstore_connections = 8\n").unwrap();
    let config: [&std::ffi::OsStr; 2] = ["--config".as_ref(), file.as_os_str()];
    assert_eq!(serve_config(&config).store_connections, Some(8));
    let flag: [&std::ffi::OsStr; 4] = [config[0], config[1], "--store-connections".as_ref(), "32".as_ref()];
    assert_eq!(serve_config(&flag).store_connections, Some(32));
    assert_eq!(serve_config(&[]).store_connections, None);
}

/// A `[[tokens]]` entry: the service refuses to start without one.
fn one_token() -> String {
    app::serve::token_entry_toml("t-test", "tester", "00000000-0000-0000-0000-000000000001", "admin")
}

/// `erp serve` over a PostgreSQL URL with a server that does not answer (port 1), a data directory of
/// its own, the password `hunter2` in the URL, `file` as its configuration and `env` in its environment:
/// its exit code and stderr.
fn serve_refusal(
    dir: &std::path::Path,
    file: &str,
    env: &[(&str, &str)],
    args: &[&str],
) -> (Option<i32>, String) {
    let config = dir.join("erp.toml");
    std::fs::write(&config, format!("{file}{}", one_token())).unwrap();
    let out = erp()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"))
        .arg("--config")
        .arg(&config)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A pool of no connection, or of more than the limit, is refused with `store.invalid_setting` before
/// anything connects, whether it comes from the flag, `ERP_STORE_CONNECTIONS` or the configuration file;
/// the variable overrides the file and the flag overrides both. The URL's password is never repeated.
#[test]
fn serve_refuses_a_pool_of_none_or_too_many_with_a_stable_code_from_flag_variable_or_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = "store = \"postgres://erp:hunter2@127.0.0.1:1/erp\"\n";
    let too_many = (infra::limits::POSTGRES_CONNECTIONS_MAX + 1).to_string();
    let with_file = |n: &str| format!("{store}store_connections = {n}\n");
    for (file, env, args) in [
        (store.to_string(), vec![], vec!["--store-connections", "0"]),
        (store.to_string(), vec![], vec!["--store-connections", too_many.as_str()]),
        (store.to_string(), vec![("ERP_STORE_CONNECTIONS", "0")], vec![]),
        (with_file("0"), vec![], vec![]),
        (with_file(&too_many), vec![], vec![]),
        // The variable overrides the file's good value.
        (with_file("8"), vec![("ERP_STORE_CONNECTIONS", too_many.as_str())], vec![]),
    ] {
        let (code, stderr) = serve_refusal(dir.path(), &file, &env, &args);
        assert_eq!(code, Some(1), "{file} {env:?} {args:?}: {stderr}");
        assert!(stderr.contains("store.invalid_setting"), "{file} {env:?} {args:?}: {stderr}");
        assert!(stderr.contains("1 to 64"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
    // The flag's good value overrides the variable's and the file's bad ones: the pool is accepted and
    // the store then fails to connect (nothing listens on port 1).
    let (code, stderr) = serve_refusal(
        dir.path(),
        &with_file("0"),
        &[("ERP_STORE_CONNECTIONS", "0")],
        &["--store-connections", "4"],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("store.database") && !stderr.contains("store.invalid_setting"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

/// A pool size with the embedded store is refused, as a store schema is: it would do nothing there.
#[test]
fn a_pool_size_with_the_embedded_store_is_refused_as_a_schema_is() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = serve_refusal(dir.path(), "", &[("ERP_STORE_CONNECTIONS", "4")], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is for a PostgreSQL store"), "{stderr}");
    let out = erp()
        .args(["audit", "verify", "--store-connections", "4", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is for a PostgreSQL store"));
    let out = erp()
        .args(["migrate", "--store-connections", "4", "--from"])
        .arg(dir.path().join("a"))
        .arg("--to")
        .arg(dir.path().join("b"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is for a PostgreSQL store"));
    for workload in ["append", "replay"] {
        let out =
            erp().args(["bench", workload, "--runs", "1", "--store-connections", "4"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{workload}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--store-connections"), "{workload}");
    }
}

/// Every other command that takes a store URL refuses a pool out of range with the same code, before
/// connecting, without repeating the URL's password.
#[test]
fn audit_migrate_and_bench_refuse_a_pool_out_of_range_with_the_same_code() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://erp:hunter2@127.0.0.1:1/erp";
    let too_many = (infra::limits::POSTGRES_CONNECTIONS_MAX + 1).to_string();
    let to = dir.path().join("copy").into_os_string().into_string().unwrap();
    let commands: [Vec<&str>; 4] = [
        vec!["audit", "verify", "--store", url, "--store-connections", "0"],
        vec!["migrate", "--from", url, "--to", &to, "--store-connections", &too_many],
        vec!["bench", "append", "--runs", "1", "--store", url, "--store-connections", "0"],
        vec!["bench", "projections", "--runs", "1", "--store", url, "--store-connections", &too_many],
    ];
    for args in commands {
        let out = erp().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("store.invalid_setting"), "{args:?}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{args:?}: {stderr}");
    }
}

/// `ERP_STORE_CONNECTIONS` reaches the PostgreSQL store `erp serve` opens (its log says the pool's
/// size), and `erp bench append --store-connections` and `erp audit verify --store-connections` run
/// with theirs.
#[test]
fn the_pool_size_reaches_the_postgres_store_of_serve_bench_and_audit() {
    use std::io::BufRead;
    let Some(schema) = tests::postgres::Schema::fresh() else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("erp.log");
    let config = dir.path().join("erp.toml");
    std::fs::write(&config, one_token()).unwrap();
    // JSON log lines: the text format colours field names even into a file.
    let mut child = erp()
        .args(["--log-json", "serve", "--listen", "127.0.0.1:0", "--store", schema.url()])
        .args(["--store-schema", schema.name()])
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("ERP_STORE_CONNECTIONS", "5")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(line.starts_with(app::serve::SERVING_LINE), "{line} {log}");
    assert!(
        log.lines()
            .any(|l| l.contains("PostgreSQL event store connected") && l.contains(r#""connections_max":5"#)),
        "{log}"
    );

    let out = erp()
        .args(["bench", "append", "--concurrency", "4", "--events", "40", "--runs", "1", "--json"])
        .args(["--store", schema.url(), "--store-connections", "3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["store_connections"], 3, "{json}");

    let out = erp()
        .args(["audit", "verify", "--json", "--store", schema.url(), "--store-schema", schema.name()])
        .args(["--store-connections", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
