pub mod app;
pub mod binary;
pub mod dynamodb_standin;
pub mod moto;
pub mod payloads;
pub mod runtime_api;
pub mod temp;
pub mod webhooks;

pub use app::{Backend, TestApp, blocking_runtime, fixture_records, routes};

/// A proptest runner for `cases` random cases, writing no failure file into the source tree
/// (a failing case is printed; the tests seed nothing from earlier runs).
pub fn property_runner(cases: u32) -> proptest::test_runner::TestRunner {
    use proptest::test_runner::{Config, TestRunner};
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}
