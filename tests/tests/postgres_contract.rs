//! The event store contract, run against the PostgreSQL store: a fresh schema per test in the database
//! named by `ERP_TEST_POSTGRES_URL` (skipped, saying so, when it is not set).

tests::store_contract_tests!(optional tests::postgres::fresh_store());
