//! `erp audit verify`: an independent, read-only check of a whole log.
//!
//! It trusts nothing but the segment files: no checkpoint, no index. For every frame it checks the CRC,
//! decodes the commit and every event record in it, checks that the frame links to the hash of the frame
//! before (the hash chain), that global positions run 1, 2, 3 ... without a gap, and that each stream's
//! versions run 0, 1, 2 ... It stops at the first problem and names the first position it could not
//! vouch for. It takes no lock, so it can run beside a live store; a torn tail (which the next open
//! would cut off) is reported but is not a failure.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use super::TornTail;
use super::segments::{self, FrameCursor, Scanned, segment_file_name};
use crate::codec::{self, CommitView};
use crate::envelope::ChainHash;
use crate::error::StoreError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Position of the last verified event.
    pub head_position: u64,
    /// Hash of the last verified frame: publish it, and a later verify proves the history up to it.
    pub head_hash: ChainHash,
    pub segments: u32,
    pub frames: u64,
    pub streams: usize,
    pub torn_tail: Option<TornTail>,
    /// The first problem found; `None` means the whole log verified.
    pub problem: Option<VerifyProblem>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyProblem {
    /// The first position that could not be verified.
    pub position: u64,
    pub segment: String,
    pub offset: u64,
    pub reason: String,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// Verifies the log in `dir` from its first frame to its last.
pub fn verify_data_dir(dir: &Path) -> Result<VerifyReport, StoreError> {
    let numbers = segments::list_segments(dir)?;
    let mut report = VerifyReport {
        head_position: 0,
        head_hash: ChainHash::GENESIS,
        segments: numbers.len() as u32,
        frames: 0,
        streams: 0,
        torn_tail: None,
        problem: None,
    };
    let mut versions: HashMap<String, u64> = HashMap::new();
    let last = numbers.last().copied();
    'segments: for &segment in &numbers {
        let path = segments::segment_path(dir, segment);
        let file = File::open(&path).map_err(|e| StoreError::io(format!("opening {}", path.display()), e))?;
        let len =
            file.metadata().map_err(|e| StoreError::io(format!("stat of {}", path.display()), e))?.len();
        let mut cursor = FrameCursor::new(&file, len, 0, segments::SCAN_CHUNK_BYTES * 4);
        loop {
            let scanned =
                cursor.next_frame().map_err(|e| StoreError::io(format!("reading {}", path.display()), e))?;
            let next_position = report.head_position + 1;
            let fail = |offset: u64, reason: String| VerifyProblem {
                position: next_position,
                segment: segment_file_name(segment),
                offset,
                reason,
            };
            match scanned {
                Scanned::End => break,
                Scanned::Damaged { offset, reason } => {
                    let intact = segments::find_intact_frame_after(&file, len, offset)
                        .map_err(|e| StoreError::io(format!("reading {}", path.display()), e))?;
                    if Some(segment) == last && intact.is_none() {
                        report.torn_tail = Some(TornTail {
                            segment: segment_file_name(segment),
                            offset,
                            bytes_dropped: len - offset,
                            reason: reason.to_string(),
                        });
                    } else {
                        let after = match intact {
                            Some(at) => format!(", followed by an intact frame at offset {at}"),
                            None => ", and later segments exist".to_string(),
                        };
                        report.problem = Some(fail(offset, format!("{reason}{after}")));
                    }
                    break 'segments;
                }
                Scanned::Frame { offset, body, .. } => {
                    if let Err(reason) = check_commit(body, &report, &mut versions) {
                        report.problem = Some(fail(offset, reason));
                        break 'segments;
                    }
                    let view = CommitView::decode(body).expect("checked above");
                    report.head_position += view.header.event_count as u64;
                    report.head_hash = codec::commit_hash(body);
                    report.frames += 1;
                }
            }
        }
    }
    report.streams = versions.len();
    Ok(report)
}

fn check_commit(
    body: &[u8],
    report: &VerifyReport,
    versions: &mut HashMap<String, u64>,
) -> Result<(), String> {
    let view = CommitView::decode(body)?;
    let header = &view.header;
    if ChainHash(header.prev_hash) != report.head_hash {
        return Err(format!(
            "hash chain broken: the frame links to {}, but the frame before it hashes to {}",
            ChainHash(header.prev_hash),
            report.head_hash
        ));
    }
    if header.first_position != report.head_position + 1 {
        return Err(format!("position {} follows position {}", header.first_position, report.head_position));
    }
    let expected_version = versions.get(header.stream_id).copied().unwrap_or(0);
    if header.first_version != expected_version {
        return Err(format!(
            "stream {} continues at version {} but has {expected_version} events",
            header.stream_id, header.first_version
        ));
    }
    let mut count = 0u64;
    for record in view.records() {
        let record = record?;
        if record.event_version == 0 || record.event_type.is_empty() {
            return Err(format!("event {count} of the frame has no valid type"));
        }
        count += 1;
    }
    if count != header.event_count as u64 {
        return Err(format!("frame declares {} events and holds {count}", header.event_count));
    }
    match versions.get_mut(header.stream_id) {
        Some(v) => *v += count,
        None => {
            versions.insert(header.stream_id.to_string(), count);
        }
    }
    Ok(())
}
