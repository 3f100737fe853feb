//! The write side: the command bus (load → decide → append, bounded retry on conflict), the
//! process-manager runner and the HTTP command endpoints.
//!
//! Invariant: the only crate that knows HTTP. Nothing is here yet beyond this note: it arrives with the
//! domain and service issues.
