//! Model-based property test: random sequences of appends (right and wrong expected versions, retries),
//! reads and reopens against the embedded store give the same answers as a plain in-memory model.

use std::collections::HashMap;

use domain::EventId;
use infra::{Appended, EmbeddedConfig, EmbeddedStore, EventStore, ExpectedVersion, WrongExpectedVersion};
use proptest::prelude::*;
use tests::{events, stream};
use uuid::Uuid;

#[derive(Clone, Debug)]
enum Expect {
    Right,
    Stale,
    Ahead,
    NoStream,
    Any,
}

#[derive(Clone, Debug)]
enum Op {
    Append {
        stream: u8,
        expect: Expect,
        count: u32,
    },
    /// Re-send the last successful append exactly as it was sent.
    RetryLast,
    ReadStream {
        stream: u8,
        from: u64,
        max: usize,
    },
    ReadAll {
        from: u64,
        max: usize,
    },
    Reopen {
        drop_checkpoint: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let expect = prop_oneof![
        4 => Just(Expect::Right),
        1 => Just(Expect::Stale),
        1 => Just(Expect::Ahead),
        1 => Just(Expect::NoStream),
        2 => Just(Expect::Any),
    ];
    prop_oneof![
        8 => (0u8..4, expect, 1u32..5).prop_map(|(stream, expect, count)| Op::Append { stream, expect, count }),
        2 => Just(Op::RetryLast),
        3 => (0u8..4, 0u64..12, 1usize..8).prop_map(|(stream, from, max)| Op::ReadStream { stream, from, max }),
        3 => (0u64..40, 1usize..12).prop_map(|(from, max)| Op::ReadAll { from, max }),
        1 => any::<bool>().prop_map(|drop_checkpoint| Op::Reopen { drop_checkpoint }),
    ]
}

/// The model: the global log as (stream, version, event id, payload), in position order.
#[derive(Default)]
struct Model {
    log: Vec<(String, u64, EventId, Vec<u8>)>,
    lengths: HashMap<String, u64>,
}

impl Model {
    fn append(
        &mut self,
        name: &str,
        expected: ExpectedVersion,
        sent: &[infra::NewEvent],
    ) -> Result<Appended, WrongExpectedVersion> {
        let len = self.lengths.get(name).copied().unwrap_or(0);
        let ok = match expected {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => len == 0,
            ExpectedVersion::Exact(v) => v + 1 == len,
        };
        if !ok {
            return Err(WrongExpectedVersion { stream: stream(name), expected, actual: len.checked_sub(1) });
        }
        let first_position = self.log.len() as u64 + 1;
        for (i, e) in sent.iter().enumerate() {
            self.log.push((name.to_string(), len + i as u64, e.event_id, e.payload.clone()));
        }
        let count = sent.len() as u64;
        self.lengths.insert(name.to_string(), len + count);
        Ok(Appended {
            first_position,
            last_position: first_position + count - 1,
            next_expected_version: len + count - 1,
        })
    }
}

fn config(dir: &std::path::Path) -> EmbeddedConfig {
    // No fsync here: this test is about semantics; the crash test is about durability.
    EmbeddedConfig {
        durability: infra::Durability::None,
        segment_bytes_max: 8192,
        // Small, so reads meet both the in-memory tail and evicted positions read from the segments.
        tail_cache_bytes: 1024,
        ..EmbeddedConfig::new(dir)
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Some(EmbeddedStore::open(config(dir.path())).unwrap());
    let mut model = Model::default();
    let mut last_ok: Option<(String, ExpectedVersion, Vec<infra::NewEvent>, Appended)> = None;
    let mut seed = 0u128;
    for op in ops {
        let s = store.as_ref().unwrap();
        match op {
            Op::Append { stream: n, expect, count } => {
                let name = format!("s{n}");
                let len = model.lengths.get(&name).copied().unwrap_or(0);
                let expected = match expect {
                    Expect::Right if len == 0 => ExpectedVersion::NoStream,
                    Expect::Right => ExpectedVersion::Exact(len - 1),
                    Expect::Stale => ExpectedVersion::Exact(len.saturating_sub(2)),
                    Expect::Ahead => ExpectedVersion::Exact(len + 1),
                    Expect::NoStream => ExpectedVersion::NoStream,
                    Expect::Any => ExpectedVersion::Any,
                };
                seed += 1;
                let sent = events(Uuid::from_u128(seed), count);
                let got = rt.block_on(s.append(&stream(&name), expected, sent.clone())).unwrap();
                let want = model.append(&name, expected, &sent);
                prop_assert_eq!(&got, &want);
                if let Ok(appended) = got {
                    last_ok = Some((name, expected, sent, appended));
                }
            }
            Op::RetryLast => {
                if let Some((name, expected, sent, original)) = &last_ok {
                    let got = rt.block_on(s.append(&stream(name), *expected, sent.clone())).unwrap();
                    match expected {
                        // A retry with an exact or no-stream version is always recognised.
                        ExpectedVersion::Exact(_) | ExpectedVersion::NoStream => {
                            prop_assert_eq!(got, Ok(*original))
                        }
                        // With Any it is recognised only while its events are still the stream's last.
                        ExpectedVersion::Any => {
                            let still_last = model.lengths[name] == original.next_expected_version + 1;
                            if still_last {
                                prop_assert_eq!(got, Ok(*original));
                            } else {
                                let want = model.append(name, *expected, sent);
                                prop_assert_eq!(got, want);
                                // The stream now holds the same ids twice; retries with Any stop here.
                                last_ok = None;
                            }
                        }
                    }
                }
            }
            Op::ReadStream { stream: n, from, max } => {
                let name = format!("s{n}");
                let got = s.read_stream_blocking(&stream(&name), from, max).unwrap();
                let want: Vec<_> = model
                    .log
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.0 == name && e.1 >= from)
                    .take(max)
                    .map(|(i, e)| (i as u64 + 1, e.1, e.2, e.3.clone()))
                    .collect();
                let got: Vec<_> =
                    got.into_iter().map(|e| (e.position, e.stream_version, e.event_id, e.payload)).collect();
                prop_assert_eq!(got, want);
            }
            Op::ReadAll { from, max } => {
                let got = rt.block_on(s.read_all(from, max)).unwrap();
                // The newest events may come from memory: they must equal what the segments hold.
                prop_assert_eq!(&got, &s.read_all_blocking(from, max).unwrap());
                let start = from.max(1) as usize - 1;
                let want: Vec<_> = model
                    .log
                    .iter()
                    .enumerate()
                    .skip(start)
                    .take(max)
                    .map(|(i, e)| (i as u64 + 1, e.0.clone(), e.1, e.2))
                    .collect();
                let got: Vec<_> = got
                    .into_iter()
                    .map(|e| (e.position, e.stream_id.as_str().to_string(), e.stream_version, e.event_id))
                    .collect();
                prop_assert_eq!(got, want);
            }
            Op::Reopen { drop_checkpoint } => {
                drop(store.take());
                if drop_checkpoint {
                    let _ = std::fs::remove_file(dir.path().join("index.ckpt"));
                }
                store = Some(EmbeddedStore::open(config(dir.path())).unwrap());
                prop_assert_eq!(store.as_ref().unwrap().head_position_now(), model.log.len() as u64);
            }
        }
    }
    drop(store);
    let verified = infra::embedded::verify_data_dir(dir.path()).unwrap();
    prop_assert!(verified.is_ok(), "{:?}", verified.problem);
    prop_assert_eq!(verified.head_position, model.log.len() as u64);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_appends_reads_and_reopens_agree_with_the_in_memory_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
