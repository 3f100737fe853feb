//! Finance (财务): charts of accounts, books, vouchers and their gapless posting per period.
//!
//! 业务发生即财务记账: the automatic vouchers of business events key on account roles (`accounts.rs`); a
//! voucher is drafted, reviewed by someone other than its preparer, and posted into its period's journal,
//! which numbers it without gaps and refuses postings once the period is closed (`journal.rs`). A posted
//! voucher is corrected only by a reversing voucher.

pub mod accounts;
pub mod bank;
pub mod book;
pub mod journal;
pub mod month_end;
pub mod opening;
pub mod payroll;
pub mod rules;
pub mod voucher;

pub use rules::{AutoVoucher, RoleLine};
