//! The read side: the GraphQL schema over the read models, subscriptions and GraphiQL.
//!
//! Invariant: the only crate that knows GraphQL. Nothing is here yet beyond this note: it arrives with the
//! read-side issue.
