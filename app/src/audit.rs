//! `erp audit verify`: runs the independent log check and reports it for a person or a machine.

use std::process::ExitCode;

use crate::cli::VerifyArgs;

pub fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
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
