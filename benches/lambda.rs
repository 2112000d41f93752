//! `make bench`, Lambda side: the packaged `bootstrap`, started as Lambda starts it, under the
//! test suite's Runtime API on 127.0.0.1. Measures init (spawn to first `next` poll), the first
//! and warm invocations, the load of a 1 000 000-event store, and peak memory. Writes
//! target/bench/lambda.json; scripts/bench-report.py turns it into the report.
//!
//! Local figures exclude what Lambda adds around the process: sandbox creation, code download,
//! the network between API Gateway and the function.

// The test suite's harness and payloads, shared so that tests and benchmarks run the function
// the same way; the benchmark uses only part of them.
#[allow(dead_code)]
#[path = "../tests/api/support/payloads.rs"]
mod payloads;
#[allow(dead_code)]
#[path = "../tests/api/support/runtime_api.rs"]
mod runtime_api;

use std::io::{BufWriter, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use payloads::{Kind, event};
use pipeline_events::{GeneratorSettings, generate, write_json_lines};
use runtime_api::{Outcome, RuntimeApi};
use serde_json::{Value, json};

const COLD_RUNS: usize = 25;
const WARM_INVOCATIONS: usize = 1000;
const BIG_STORE_EVENTS: usize = 1_000_000;
const BIG_STORE_RUNS: usize = 5;
/// The big store again, its events spread over this many services.
const SERVICES: usize = 100;

fn main() {
    let out_dir = workspace_root().join("target/bench");
    std::fs::create_dir_all(&out_dir).unwrap();
    let zip = std::env::var_os("LAMBDA_PACKAGE")
        .map(PathBuf::from)
        .expect("LAMBDA_PACKAGE must name the zip: run `make bench`");
    let bootstrap = unpack(&zip, &out_dir);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let results = runtime.block_on(async {
        eprintln!("cold starts: {COLD_RUNS} runs");
        let cold = cold_starts(&bootstrap).await;
        eprintln!("warm invocations: {WARM_INVOCATIONS}");
        let warm = warm_invocations(&bootstrap).await;
        eprintln!("generating {BIG_STORE_EVENTS} events");
        let big_file = big_store_file(&out_dir);
        eprintln!("loading them: {BIG_STORE_RUNS} runs");
        let big = big_store(&bootstrap, &big_file).await;
        eprintln!("the same over {SERVICES} services: {BIG_STORE_RUNS} runs");
        let services_file = big_store_file_of(&out_dir, SERVICES);
        let services = big_store(&bootstrap, &services_file).await;
        json!({
            "package": packages(&zip),
            "cold_start": cold,
            "warm": warm,
            "big_store": big,
            "big_store_services": services,
        })
    });
    let path = out_dir.join("lambda.json");
    std::fs::write(&path, serde_json::to_string_pretty(&results).unwrap()).unwrap();
    eprintln!("wrote {}", path.display());
}

/// A running function, killed when dropped.
struct Function {
    api: RuntimeApi,
    child: Child,
    spawned: Instant,
    log: std::sync::mpsc::Receiver<String>,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Function {
    async fn start(bootstrap: &Path, extra: &[(&str, &str)]) -> Self {
        let api = RuntimeApi::start().await;
        let env = api.lambda_env();
        let mut command = Command::new(bootstrap);
        command
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let spawned = Instant::now();
        let mut child = command.spawn().expect("bootstrap starts");
        let log = lines(child.stderr.take().unwrap());
        Self {
            api,
            child,
            spawned,
            log,
        }
    }

    /// Spawn to first `next` poll: the init phase Lambda reports as Init Duration.
    async fn init(&self) -> Duration {
        let polled = self
            .api
            .first_poll(Duration::from_secs(30))
            .await
            .expect("the function polled for an event");
        polled - self.spawned
    }

    async fn invoke(&self, payload: Value) -> (u16, Duration) {
        match self.api.invoke_timed(payload).await {
            Some((Outcome::Response(response), took)) => {
                (response["statusCode"].as_u64().unwrap_or(0) as u16, took)
            }
            other => panic!("no response: {other:?}"),
        }
    }

    /// Peak resident memory so far (VmHWM), in KiB.
    fn peak_rss_kib(&self) -> u64 {
        proc_status_kib(self.child.id(), "VmHWM:")
    }

    fn current_rss_kib(&self) -> u64 {
        proc_status_kib(self.child.id(), "VmRSS:")
    }

    /// The `load_ms` the function logged for its event store.
    fn logged_load_ms(&self) -> Option<f64> {
        self.log
            .try_iter()
            .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
            .find(|entry| entry["message"] == "event store loaded")
            .and_then(|entry| entry["load_ms"].as_f64())
    }
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("a VmHWM/VmRSS line")
}

fn lines(stream: impl Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stream)
            .lines()
            .map_while(Result::ok)
        {
            let _ = sender.send(line);
        }
    });
    receiver
}

fn rest(path: &str, query: &[(&str, &str)]) -> Value {
    event(Kind::RestV1, "GET", path, query, "")
}

async fn cold_starts(bootstrap: &Path) -> Value {
    let mut init_ms = Vec::new();
    let mut first_ms = Vec::new();
    let mut peak_kib = Vec::new();
    for _ in 0..COLD_RUNS {
        let function = Function::start(bootstrap, &[]).await;
        init_ms.push(ms(function.init().await));
        let (status, took) = function
            .invoke(rest(
                "/events",
                &[("from", "2017-10-16"), ("to", "2017-10-20")],
            ))
            .await;
        assert_eq!(status, 200);
        first_ms.push(ms(took));
        peak_kib.push(function.peak_rss_kib());
    }
    json!({
        "runs": COLD_RUNS,
        "init_ms": init_ms,
        "first_invocation_ms": first_ms,
        "peak_rss_kib": peak_kib,
    })
}

async fn warm_invocations(bootstrap: &Path) -> Value {
    let function = Function::start(bootstrap, &[]).await;
    function.init().await;
    let requests: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/", vec![]),
        ("/health", vec![]),
        ("/metadata", vec![]),
        ("/events", vec![("limit", "100")]),
        (
            "/events",
            vec![
                ("from", "2017-10-16"),
                ("to", "2017-10-20"),
                ("action", "deploy"),
            ],
        ),
        ("/engineers", vec![]),
        ("/engineers/ada.berg/events", vec![("limit", "20")]),
        ("/summaries/daily", vec![]),
        ("/events", vec![("limit", "0")]),
        ("/nope", vec![]),
    ];
    let mut took_ms = Vec::with_capacity(WARM_INVOCATIONS);
    let mut by_route: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    let mut server_errors = 0;
    for i in 0..WARM_INVOCATIONS {
        let (path, query) = &requests[i % requests.len()];
        let (status, took) = function.invoke(rest(path, query)).await;
        if status >= 500 {
            server_errors += 1;
        }
        took_ms.push(ms(took));
        by_route.entry(path.to_string()).or_default().push(ms(took));
    }
    json!({
        "invocations": WARM_INVOCATIONS,
        "took_ms": took_ms,
        "by_route_ms": by_route,
        "server_errors": server_errors,
        "rss_kib_after": function.current_rss_kib(),
    })
}

fn big_store_file(out_dir: &Path) -> PathBuf {
    big_store_file_of(out_dir, 1)
}

/// The big store's events spread over `services` services (one: records name none).
fn big_store_file_of(out_dir: &Path, services: usize) -> PathBuf {
    let name = match services {
        1 => format!("events-{BIG_STORE_EVENTS}.jsonl"),
        n => format!("events-{BIG_STORE_EVENTS}-{n}-services.jsonl"),
    };
    let path = out_dir.join(name);
    let settings = GeneratorSettings {
        events: BIG_STORE_EVENTS,
        days: 365,
        engineers: 48,
        services,
        ..GeneratorSettings::default()
    };
    let file = std::fs::File::create(&path).unwrap();
    write_json_lines(&generate(&settings), BufWriter::new(file)).unwrap();
    path
}

async fn big_store(bootstrap: &Path, file: &Path) -> Value {
    let file = file.to_str().unwrap();
    let mut init_ms = Vec::new();
    let mut load_ms = Vec::new();
    let mut peak_kib = Vec::new();
    let mut events = 0;
    for _ in 0..BIG_STORE_RUNS {
        let function = Function::start(bootstrap, &[("EVENTS_FILE", file)]).await;
        init_ms.push(ms(function.init().await));
        let (status, _) = function.invoke(rest("/health", &[])).await;
        assert_eq!(status, 200);
        if let Some(Outcome::Response(response)) = function.api.invoke(rest("/health", &[])).await {
            let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
            events = body["checks"]["events:count"][0]["observedValue"]
                .as_u64()
                .unwrap();
        }
        peak_kib.push(function.peak_rss_kib());
        if let Some(ms) = function.logged_load_ms() {
            load_ms.push(ms);
        }
    }
    json!({
        "events": events,
        "file_bytes": std::fs::metadata(file).unwrap().len(),
        "runs": BIG_STORE_RUNS,
        "init_ms": init_ms,
        "logged_load_ms": load_ms,
        "peak_rss_kib": peak_kib,
    })
}

fn packages(zip: &Path) -> Value {
    let size = |arch: &str| {
        let path = workspace_root().join(format!(
            "target/lambda/{arch}/pipeline-events-api/bootstrap.zip"
        ));
        std::fs::metadata(path).ok().map(|m| m.len())
    };
    json!({
        "measured": zip.display().to_string(),
        "x86_64_bytes": size("x86_64"),
        "arm64_bytes": size("arm64"),
    })
}

fn unpack(zip: &Path, out_dir: &Path) -> PathBuf {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut bytes = Vec::new();
    archive
        .by_name("bootstrap")
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    let path = out_dir.join("bootstrap");
    std::fs::write(&path, bytes).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The repository root: this package lives in its `benches/` directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ is inside the workspace")
        .to_path_buf()
}
