//! The embedded store as a storage engine: persistence across reopen, the index checkpoint, torn tails,
//! bit flips, tampering, segment roll-over and the directory lock.

use std::path::{Path, PathBuf};

use infra::embedded::verify_data_dir;
use infra::{EmbeddedConfig, EmbeddedStore, EventStore, ExpectedVersion, RecordedEvent};
use tests::{command, events, stream};

fn open(dir: &Path) -> EmbeddedStore {
    EmbeddedStore::open_dir(dir).expect("open")
}

fn segment0(dir: &Path) -> PathBuf {
    dir.join("00000000.seg")
}

/// (offset, total length) of every frame in a segment file, read from the frame headers.
fn frames(segment: &Path) -> Vec<(usize, usize)> {
    let bytes = std::fs::read(segment).unwrap();
    let mut out = Vec::new();
    let mut at = 0;
    while at + 12 <= bytes.len() {
        assert_eq!(&bytes[at..at + 4], b"ERPf");
        let len = 12 + u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        out.push((at, len));
        at += len;
    }
    out
}

fn read_everything(store: &EmbeddedStore) -> Vec<RecordedEvent> {
    store.read_all_blocking(1, 65_536).unwrap()
}

/// Five commits: streams a, b, a, c, a with 1, 2, 1, 1, 3 events (positions 1..=8).
async fn five_commits(store: &EmbeddedStore) {
    for (name, count) in [("a", 1), ("b", 2), ("a", 1), ("c", 1), ("a", 3)] {
        store.append(&stream(name), ExpectedVersion::Any, events(command(), count)).await.unwrap().unwrap();
    }
}

/// A store with [`five_commits`], closed cleanly (so with an index checkpoint).
async fn closed_store_with_five_commits() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    five_commits(&store).await;
    drop(store);
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "LOCK" {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[tokio::test]
async fn appended_events_survive_close_and_reopen_through_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    five_commits(&store).await;
    let before = read_everything(&store);
    let hash = store.head_hash();
    store.close().unwrap();
    drop(store);

    let store = open(dir.path());
    assert_eq!(store.open_report().events_from_checkpoint, 8, "the checkpoint was used");
    assert_eq!(store.open_report().events_scanned, 0);
    assert_eq!(read_everything(&store), before);
    assert_eq!(store.head_hash(), hash);
    let appended = store.append(&stream("a"), ExpectedVersion::Exact(4), events(command(), 1)).await.unwrap();
    assert_eq!(appended.unwrap().first_position, 9);
}

#[tokio::test]
async fn without_a_checkpoint_a_scan_rebuilds_the_same_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    five_commits(&store).await;
    let before = read_everything(&store);
    let a_before = store.read_stream_blocking(&stream("a"), 0, 100).unwrap();
    drop(store);
    std::fs::remove_file(dir.path().join("index.ckpt")).unwrap();

    let store = open(dir.path());
    assert_eq!(store.open_report().events_scanned, 8);
    assert_eq!(store.open_report().events_from_checkpoint, 0);
    assert_eq!(read_everything(&store), before);
    assert_eq!(store.read_stream_blocking(&stream("a"), 0, 100).unwrap(), a_before);
    assert_eq!(store.open_report().streams, 3);
}

#[tokio::test]
async fn an_older_checkpoint_is_completed_by_scanning_the_frames_after_it() {
    let dir = closed_store_with_five_commits().await;
    let old_checkpoint = std::fs::read(dir.path().join("index.ckpt")).unwrap();
    let store = open(dir.path());
    store.append(&stream("b"), ExpectedVersion::Exact(1), events(command(), 2)).await.unwrap().unwrap();
    let before = read_everything(&store);
    drop(store);
    std::fs::write(dir.path().join("index.ckpt"), old_checkpoint).unwrap();

    let store = open(dir.path());
    assert_eq!(store.open_report().events_from_checkpoint, 8);
    assert_eq!(store.open_report().events_scanned, 2);
    assert_eq!(read_everything(&store), before);
    assert_eq!(store.read_stream_blocking(&stream("b"), 0, 10).unwrap().len(), 4);
}

#[tokio::test]
async fn a_torn_tail_at_every_byte_offset_of_the_last_frame_recovers_to_the_previous_frame() {
    let source = tempfile::tempdir().unwrap();
    let store = open(source.path());
    five_commits(&store).await;
    let expected = store.read_all_blocking(1, 100).unwrap()[..5].to_vec();
    drop(store);
    let all_frames = frames(&segment0(source.path()));
    let (last_start, last_len) = *all_frames.last().unwrap();
    let full = std::fs::read(segment0(source.path())).unwrap();

    for cut in 0..last_len {
        let dir = tempfile::tempdir().unwrap();
        // The checkpoint from the clean close claims the whole last frame: it must be recognised as stale.
        copy_dir(source.path(), dir.path());
        std::fs::write(segment0(dir.path()), &full[..last_start + cut]).unwrap();

        let store = EmbeddedStore::open_dir(dir.path())
            .unwrap_or_else(|e| panic!("cut at byte {cut} of the last frame: {e}"));
        let report = store.open_report().clone();
        assert_eq!(report.head_position, 5, "cut at byte {cut}");
        assert_eq!(report.torn_tail.is_some(), cut > 0, "cut at byte {cut}");
        if let Some(torn) = &report.torn_tail {
            assert_eq!((torn.offset, torn.bytes_dropped), (last_start as u64, cut as u64));
        }
        assert_eq!(std::fs::metadata(segment0(dir.path())).unwrap().len(), last_start as u64);
        assert_eq!(read_everything(&store), expected, "cut at byte {cut}");
        let appended =
            store.append(&stream("a"), ExpectedVersion::Exact(1), events(command(), 1)).await.unwrap();
        assert_eq!(appended.unwrap().first_position, 6, "cut at byte {cut}: appends continue after the cut");
        drop(store);
        let verified = verify_data_dir(dir.path()).unwrap();
        assert!(verified.is_ok(), "cut at byte {cut}: {verified:?}");
        assert_eq!(verified.head_position, 6);
    }
}

#[tokio::test]
async fn garbage_after_the_last_frame_is_a_torn_tail() {
    let dir = closed_store_with_five_commits().await;
    let mut bytes = std::fs::read(segment0(dir.path())).unwrap();
    let clean_len = bytes.len();
    bytes.extend_from_slice(&[0u8; 4096]);
    std::fs::write(segment0(dir.path()), bytes).unwrap();
    let store = open(dir.path());
    assert_eq!(store.open_report().head_position, 8);
    assert_eq!(store.open_report().torn_tail.as_ref().unwrap().bytes_dropped, 4096);
    assert_eq!(std::fs::metadata(segment0(dir.path())).unwrap().len(), clean_len as u64);
}

fn flip_bit_in_frame(dir: &Path, frame: usize) -> (u64, usize) {
    let all = frames(&segment0(dir));
    let (start, len) = all[frame];
    let mut bytes = std::fs::read(segment0(dir)).unwrap();
    bytes[start + len / 2] ^= 0x10;
    std::fs::write(segment0(dir), bytes).unwrap();
    (start as u64, len)
}

#[tokio::test]
async fn a_flipped_bit_in_an_earlier_frame_fails_the_open_naming_segment_and_offset() {
    for with_checkpoint in [true, false] {
        let dir = closed_store_with_five_commits().await;
        if !with_checkpoint {
            std::fs::remove_file(dir.path().join("index.ckpt")).unwrap();
        }
        let (offset, _) = flip_bit_in_frame(dir.path(), 1);
        let size_before = std::fs::metadata(segment0(dir.path())).unwrap().len();

        let err = match EmbeddedStore::open_dir(dir.path()) {
            Err(err) => err,
            Ok(_) => panic!("a corrupt log must not open (checkpoint: {with_checkpoint})"),
        };
        assert_eq!(err.code(), "store.corrupt");
        let message = err.to_string();
        assert!(
            message.contains("00000000.seg") && message.contains(&format!("offset {offset}")),
            "{message}"
        );
        assert_eq!(
            std::fs::metadata(segment0(dir.path())).unwrap().len(),
            size_before,
            "nothing is dropped from a corrupt log"
        );

        let verified = verify_data_dir(dir.path()).unwrap();
        let problem = verified.problem.expect("verify reports the damage");
        assert_eq!(problem.position, 2, "the first bad position is the first event of frame 2");
        assert_eq!(problem.offset, offset);
        assert_eq!(verified.head_position, 1);
    }
}

#[tokio::test]
async fn verified_in_the_background_a_flipped_bit_opens_but_refuses_appends_naming_the_damage() {
    let dir = closed_store_with_five_commits().await;
    let (offset, _) = flip_bit_in_frame(dir.path(), 1);
    let config = EmbeddedConfig { verify_in_background: true, ..EmbeddedConfig::new(dir.path()) };
    let store = EmbeddedStore::open(config).expect("the open does not wait for the sweep");
    let mut damage = None;
    for _ in 0..500 {
        damage = store.damage();
        if damage.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let damage = damage.expect("the sweep finds the damage");
    assert!(damage.contains("00000000.seg") && damage.contains(&format!("offset {offset}")), "{damage}");
    let refused = store.append(&stream("a"), ExpectedVersion::Any, events(command(), 1)).await.unwrap_err();
    assert_eq!(refused.code(), "store.poisoned");
    // Reads still check each frame: the damaged one is refused, never served.
    assert_eq!(store.read_all_blocking(2, 10).unwrap_err().code(), "store.corrupt");
    // An intact log verified in the background stays healthy.
    let intact = closed_store_with_five_commits().await;
    let config = EmbeddedConfig { verify_in_background: true, ..EmbeddedConfig::new(intact.path()) };
    let store = EmbeddedStore::open(config).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(store.damage(), None);
    store.append(&stream("a"), ExpectedVersion::Any, events(command(), 1)).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_tampered_event_with_a_recomputed_crc_breaks_the_hash_chain() {
    let dir = closed_store_with_five_commits().await;
    std::fs::remove_file(dir.path().join("index.ckpt")).unwrap();
    // Rewrite the last payload byte of frame 2 and fix its CRC, as a forger would.
    let all = frames(&segment0(dir.path()));
    let (start, len) = all[1];
    let mut bytes = std::fs::read(segment0(dir.path())).unwrap();
    bytes[start + len - 1] ^= 0x01;
    let len_bytes: [u8; 4] = bytes[start + 4..start + 8].try_into().unwrap();
    let crc = infra::codec::frame_crc(len_bytes, &bytes[start + 12..start + len]);
    bytes[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(segment0(dir.path()), bytes).unwrap();

    let verified = verify_data_dir(dir.path()).unwrap();
    let problem = verified.problem.expect("the chain exposes the edit");
    assert!(problem.reason.contains("hash chain"), "{}", problem.reason);
    assert_eq!(problem.position, 4, "frame 3 no longer links to frame 2");
    let err = EmbeddedStore::open_dir(dir.path()).err().expect("open refuses a broken chain");
    assert!(err.to_string().contains("hash chain"), "{err}");
}

#[tokio::test]
async fn verify_reports_head_position_and_head_hash_of_an_intact_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    five_commits(&store).await;
    let hash = store.head_hash();
    drop(store);
    let verified = verify_data_dir(dir.path()).unwrap();
    assert!(verified.is_ok());
    assert_eq!((verified.head_position, verified.frames, verified.streams), (8, 5, 3));
    assert_eq!(verified.head_hash, hash);
    let empty = tempfile::tempdir().unwrap();
    drop(open(empty.path()));
    let verified = verify_data_dir(empty.path()).unwrap();
    assert!(verified.is_ok());
    assert_eq!(verified.head_position, 0);
}

#[tokio::test]
async fn a_second_open_of_a_data_directory_in_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let err = EmbeddedStore::open_dir(dir.path()).err().expect("the directory is locked");
    assert_eq!(err.code(), "store.data_dir_locked");
    assert!(err.to_string().contains("in use by another process"), "{err}");
    drop(store);
    drop(open(dir.path()));
}

#[tokio::test]
async fn segments_roll_over_and_every_read_crosses_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmbeddedConfig { segment_bytes_max: 4096, ..EmbeddedConfig::new(dir.path()) };
    let store = EmbeddedStore::open(config.clone()).unwrap();
    for i in 0..60u32 {
        store
            .append(&stream(&format!("s-{}", i % 7)), ExpectedVersion::Any, events(command(), 1 + i % 4))
            .await
            .unwrap()
            .unwrap();
    }
    let before = read_everything(&store);
    assert_eq!(before.len() as u64, (0..60u32).map(|i| 1 + i % 4).sum::<u32>() as u64);
    let s3 = store.read_stream_blocking(&stream("s-3"), 0, 1000).unwrap();
    drop(store);
    let segments = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_str().unwrap().ends_with(".seg"))
        .count();
    assert!(segments > 3, "only {segments} segments");
    let verified = verify_data_dir(dir.path()).unwrap();
    assert!(verified.is_ok(), "{verified:?}");
    assert_eq!(verified.segments as usize, segments);

    std::fs::remove_file(dir.path().join("index.ckpt")).unwrap();
    let store = EmbeddedStore::open(config).unwrap();
    assert_eq!(read_everything(&store), before);
    assert_eq!(store.read_stream_blocking(&stream("s-3"), 0, 1000).unwrap(), s3);
    // Paging across segment boundaries gives the same sequence.
    let mut paged = Vec::new();
    let mut from = 1;
    loop {
        let page = store.read_all_blocking(from, 5).unwrap();
        let Some(last) = page.last() else { break };
        from = last.position + 1;
        paged.extend(page);
    }
    assert_eq!(paged, before);
}

/// Forty appends of two events into 4 KiB segments (several segments), closed cleanly.
async fn closed_store_of_small_segments() -> (tempfile::TempDir, EmbeddedConfig) {
    let dir = tempfile::tempdir().unwrap();
    let config = EmbeddedConfig { segment_bytes_max: 4096, ..EmbeddedConfig::new(dir.path()) };
    let store = EmbeddedStore::open(config.clone()).unwrap();
    for _ in 0..40 {
        store.append(&stream("s"), ExpectedVersion::Any, events(command(), 2)).await.unwrap().unwrap();
    }
    drop(store);
    (dir, config)
}

#[tokio::test]
async fn a_missing_segment_is_corruption() {
    let (dir, config) = closed_store_of_small_segments().await;
    std::fs::remove_file(dir.path().join("00000001.seg")).unwrap();
    let err = EmbeddedStore::open(config).err().expect("a gap in the segments is corruption");
    assert_eq!(err.code(), "store.corrupt");
    assert!(err.to_string().contains("00000001.seg"), "{err}");
}

#[tokio::test]
async fn a_damaged_frame_in_a_closed_segment_is_corruption_even_at_its_end() {
    let (dir, config) = closed_store_of_small_segments().await;
    std::fs::remove_file(dir.path().join("index.ckpt")).unwrap();
    let seg0 = segment0(dir.path());
    let len = std::fs::metadata(&seg0).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&seg0).unwrap().set_len(len - 3).unwrap();
    let err = EmbeddedStore::open(config).err().expect("only the last segment may have a torn tail");
    assert_eq!(err.code(), "store.corrupt");
}

#[tokio::test]
async fn events_appended_with_durability_none_are_readable_and_survive_a_clean_close() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmbeddedConfig { durability: infra::Durability::None, ..EmbeddedConfig::new(dir.path()) };
    let store = EmbeddedStore::open(config.clone()).unwrap();
    five_commits(&store).await;
    drop(store);
    let store = EmbeddedStore::open(config).unwrap();
    assert_eq!(store.head_position().await.unwrap(), 8);
}

#[tokio::test]
async fn a_background_checkpoint_bounds_the_scan_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmbeddedConfig { checkpoint_every_events: 100, ..EmbeddedConfig::new(dir.path()) };
    let store = EmbeddedStore::open(config).unwrap();
    for _ in 0..30 {
        store.append(&stream("s"), ExpectedVersion::Any, events(command(), 10)).await.unwrap().unwrap();
    }
    // Wait for the background checkpoint, then copy the directory while the store is still open: the copy
    // is what a crash at this moment would leave behind.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !dir.path().join("index.ckpt").exists() {
        assert!(std::time::Instant::now() < deadline, "no background checkpoint was written");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let crashed = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), crashed.path());
    let expected = read_everything(&store);
    drop(store);

    let recovered = open(crashed.path());
    let report = recovered.open_report();
    assert!(report.events_from_checkpoint >= 100, "{report:?}");
    assert_eq!(report.events_from_checkpoint + report.events_scanned, 300);
    assert_eq!(read_everything(&recovered), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_writer_queue_refuses_appends_as_overloaded_and_loses_none_it_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmbeddedConfig {
        writer_queue_max: 1,
        writer_queue_wait_max: std::time::Duration::from_micros(200),
        ..EmbeddedConfig::new(dir.path())
    };
    let store = EmbeddedStore::open(config).unwrap();
    let mut tasks = Vec::new();
    for i in 0..400 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.append(&stream(&format!("s-{i}")), ExpectedVersion::NoStream, events(command(), 1)).await
        }));
    }
    let (mut accepted, mut overloaded) = (0u64, 0u64);
    for task in tasks {
        match task.await.unwrap() {
            Ok(Ok(_)) => accepted += 1,
            Err(err) => {
                assert_eq!(err.code(), "store.overloaded", "{err}");
                assert!(err.to_string().contains("retry later"));
                overloaded += 1;
            }
            Ok(Err(conflict)) => panic!("unexpected conflict {conflict:?}"),
        }
    }
    assert!(overloaded > 0, "400 appends through a queue of one with a 0.2 ms wait must overflow");
    assert_eq!(store.head_position().await.unwrap(), accepted);
}

#[test]
fn stream_ids_and_event_types_outside_their_limits_are_refused_with_codes() {
    let long = "x".repeat(infra::limits::STREAM_ID_BYTES_MAX + 1);
    for bad in ["", long.as_str(), "order\n1"] {
        let err = infra::StreamId::new(bad).unwrap_err();
        assert_eq!(err.code(), "store.invalid_stream_id");
    }
    assert!(infra::StreamId::new("x".repeat(infra::limits::STREAM_ID_BYTES_MAX)).is_ok());
    assert!(infra::StreamId::new("库存-SKU1-仓库A").is_ok(), "non-ASCII names are fine");
    for (name, version) in [("", 1), ("sales order", 1), ("sales.OrderPlaced", 0)] {
        let err = infra::EventType::new(name, version).unwrap_err();
        assert_eq!(err.code(), "store.invalid_event_type");
    }
}
