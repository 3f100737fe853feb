//! Crash test: a child process appends under concurrent load and reports each acknowledgement; it is
//! SIGKILLed at random moments, again and again on the same directory. After each kill the store must
//! reopen with every acknowledged event present and byte-identical, positions contiguous, and
//! `verify` passing.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use infra::{EmbeddedStore, EventStore};

const KILLS: usize = 24;

struct Ack {
    stream: String,
    first_version: u64,
    count: u32,
    first_position: u64,
}

fn parse(line: &str) -> Option<Ack> {
    let mut parts = line.split_whitespace();
    if parts.next()? != "ack" {
        return None;
    }
    Some(Ack {
        stream: parts.next()?.to_string(),
        first_version: parts.next()?.parse().ok()?,
        count: parts.next()?.parse().ok()?,
        first_position: parts.next()?.parse().ok()?,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_event_survives_repeated_sigkills() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(0x00c0_ffee ^ std::process::id() as u64);
    let mut acks: Vec<Ack> = Vec::new();
    let mut lock_checked = false;

    for kill in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash-writer"))
            .arg(dir.path())
            .arg("16")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn crash-writer");
        let stdout = child.stdout.take().unwrap();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("ready") {
                    let _ = ready_tx.send(());
                }
                lines.push(line);
            }
            lines
        });
        let ready = ready_rx.recv_timeout(Duration::from_secs(20)).is_ok();
        if ready && !lock_checked {
            let err = EmbeddedStore::open_dir(dir.path()).err().expect("the child holds the directory");
            assert_eq!(err.code(), "store.data_dir_locked");
            lock_checked = true;
        }
        // Kill at a random moment: sometimes right after start, mostly in the middle of appends.
        std::thread::sleep(Duration::from_millis(rng.u64(0..120)));
        child.kill().expect("SIGKILL");
        let status = child.wait().unwrap();
        assert!(!status.success(), "kill {kill}: the child was killed, not finished");
        let lines = reader.join().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(!stderr.contains("error["), "kill {kill}: the child failed: {stderr}");
        // A line cut by the kill is not an acknowledgement the test can rely on; whole lines are.
        acks.extend(lines.iter().filter_map(|l| parse(l)));

        let store =
            EmbeddedStore::open_dir(dir.path()).unwrap_or_else(|e| panic!("kill {kill}: reopen: {e}"));
        let head = store.head_position().await.unwrap();
        // Read the whole log once: positions must be contiguous from 1 to the head.
        let mut stored = std::collections::HashMap::new();
        let mut next = 1;
        loop {
            let page = store.read_all(next, 10_000).await.unwrap();
            if page.is_empty() {
                break;
            }
            for event in page {
                assert_eq!(event.position, next, "kill {kill}: gap in positions");
                next += 1;
                stored.insert((event.stream_id.as_str().to_string(), event.stream_version), event);
            }
        }
        assert_eq!(next - 1, head);
        for ack in &acks {
            let expected = tests::crash::events(&ack.stream, ack.first_version, ack.count);
            for (i, want) in expected.iter().enumerate() {
                let version = ack.first_version + i as u64;
                let got = stored
                    .get(&(ack.stream.clone(), version))
                    .unwrap_or_else(|| panic!("kill {kill}: acknowledged {}@{version} lost", ack.stream));
                assert_eq!(got.position, ack.first_position + i as u64, "kill {kill}: position moved");
                assert_eq!(got.event_id, want.event_id);
                assert_eq!(got.event_type, want.event_type);
                assert_eq!(got.payload, want.payload, "kill {kill}: payload not byte-identical");
                assert_eq!(got.metadata, want.metadata);
            }
        }
        drop(store);
        let verified = infra::embedded::verify_data_dir(dir.path()).unwrap();
        assert!(verified.is_ok(), "kill {kill}: {:?}", verified.problem);
        assert_eq!(verified.head_position, head);
    }
    assert!(lock_checked, "the lock was checked against a live child at least once");
    assert!(acks.len() > 100, "the children acknowledged only {} appends", acks.len());
    eprintln!("{KILLS} kills, {} acknowledged appends checked after each", acks.len());
}
