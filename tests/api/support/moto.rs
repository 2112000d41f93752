//! moto_server: the real SSM and DynamoDB wire protocols on 127.0.0.1, for the real aws-sdk
//! clients.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ssm::types::ParameterType;

pub const REGION: &str = "eu-west-1";

/// An AWS environment that names no profile, file or real credentials.
const CLEAN_AWS_ENV: [(&str, &str); 5] = [
    ("AWS_CONFIG_FILE", "/dev/null"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_DEFAULT_REGION", REGION),
];

/// A running moto_server (through `moto_server.py`, which rolls a failed transaction back item by
/// item instead of copying the table); stopped when dropped.
pub struct Moto {
    child: Option<Child>,
    pub address: SocketAddr,
}

fn moto_server_path() -> PathBuf {
    let path = std::env::var_os("MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server"));
    assert!(
        path.exists(),
        "moto_server not found at {}: run `make test`, which installs it into .venv",
        path.display()
    );
    path
}

/// One of the Python scripts beside this file.
fn support_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/api/support")
        .join(name)
}

/// The venv's Python (moto's) running one of the scripts beside this file.
fn python_script(name: &str) -> Command {
    let mut command = Command::new(moto_server_path().with_file_name("python"));
    command.arg(support_script(name));
    command
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

impl Moto {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// On a given port: a test that stops moto can start it again where clients expect it.
    pub fn start_on(port: u16) -> Self {
        // Nothing of the developer's AWS set-up (a profile from .env, say) reaches moto: boto
        // inside it would fail on a profile it cannot find.
        let child = python_script("moto_server.py")
            .env_clear()
            .envs(std::env::var_os("PATH").map(|path| ("PATH", path)))
            .envs(CLEAN_AWS_ENV)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        Self::wait_for(child, port)
    }

    /// One moto for the whole test process, for the many tests that only need a table of
    /// their own. A static is never dropped, so moto runs under a shell that stops it when
    /// the test process ends and its end of the shell's stdin closes.
    pub fn shared() -> &'static Moto {
        static SHARED: std::sync::OnceLock<Moto> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| {
            let port = free_port();
            let child = Command::new("sh")
                .arg("-c")
                .arg(r#""$0" "$1" -H 127.0.0.1 -p "$2" & pid=$!; read _ignored; kill $pid"#)
                .arg(moto_server_path().with_file_name("python"))
                .arg(support_script("moto_server.py"))
                .arg(port.to_string())
                .env_clear()
                .envs(std::env::var_os("PATH").map(|path| ("PATH", path)))
                .envs(CLEAN_AWS_ENV)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("moto_server starts");
            Self::wait_for(child, port)
        })
    }

    fn wait_for(child: Child, port: u16) -> Self {
        let address: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {address}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child: Some(child),
            address,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// An SSM client for this server, with the service's own timeouts and retries.
    pub fn client(&self) -> Client {
        client_for(&self.endpoint())
    }

    pub async fn put(&self, name: &str, value: &str) {
        self.client()
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .expect("PutParameter on moto");
    }

    /// A SecureString, as `make webhook-secret` writes one (moto encrypts it with its own
    /// stand-in of the account's `aws/ssm` key).
    pub async fn put_secure(&self, name: &str, value: &str) {
        // Patient: moto makes its stand-in key on the first SecureString, which can take longer
        // than the service's own 900 ms read timeout.
        let config = self
            .client()
            .config()
            .to_builder()
            .timeout_config(aws_sdk_ssm::config::timeout::TimeoutConfig::disabled());
        Client::from_conf(config.build())
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .expect("PutParameter on moto");
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// moto run by `durable_moto.py`: its tables survive a stop and a start (as DynamoDB's survive
/// an outage), it answers one request at a time, and it rolls a failed transaction back item
/// by item instead of copying the table (see the script for why each).
pub struct DurableMoto {
    child: Option<Child>,
    port: u16,
    state: PathBuf,
}

impl DurableMoto {
    /// Started with its tables saved in `state` (a file path), loading them if it exists.
    pub fn start(state: PathBuf) -> Self {
        let mut moto = Self {
            child: None,
            port: free_port(),
            state,
        };
        moto.spawn();
        moto
    }

    fn spawn(&mut self) {
        let child = python_script("durable_moto.py")
            .env_clear()
            .envs(std::env::var_os("PATH").map(|path| ("PATH", path)))
            .envs(CLEAN_AWS_ENV)
            .arg(self.port.to_string())
            .arg(&self.state)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("durable_moto.py starts");
        self.child = Moto::wait_for(child, self.port).child.take();
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops it as a service stops (SIGTERM): requests in flight get no answer, and it saves
    /// its tables first.
    pub fn stop(&mut self) {
        let mut child = self.child.take().expect("a running moto");
        let signalled = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(signalled.success());
        let exited = child.wait().expect("moto exits");
        assert!(exited.success(), "moto did not save its tables: {exited}");
    }

    /// Starts it again on the same port, with the tables it saved.
    pub fn restart(&mut self) {
        self.spawn();
    }
}

impl Drop for DurableMoto {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The environment a binary needs to use moto at `endpoint` for DynamoDB.
pub fn dynamodb_env(endpoint: &str) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&'static str, String)> = CLEAN_AWS_ENV
        .iter()
        .map(|(name, value)| (*name, (*value).to_owned()))
        .collect();
    env.push(("AWS_ENDPOINT_URL_DYNAMODB", endpoint.to_owned()));
    env.push(("AWS_EC2_METADATA_DISABLED", "true".to_owned()));
    env
}

/// A DynamoDB client configuration for moto at `endpoint`, with the service's own timeouts.
pub fn dynamodb_config(endpoint: &str) -> aws_sdk_dynamodb::Config {
    let (timeouts, retries) = pipeline_events_api::store::dynamodb::client_settings();
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .http_client(pipeline_events_api::metadata::https_client())
        .region(aws_sdk_dynamodb::config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .timeout_config(timeouts)
        .retry_config(retries)
        .build()
}

/// For tables on the shared moto that tests read for their content, not their timing: every
/// test of the process queries one Python server on two cores, so a request can wait seconds.
/// The service's own timeouts are tested against stand-ins that fail on purpose.
pub fn patient_dynamodb_config(endpoint: &str) -> aws_sdk_dynamodb::Config {
    dynamodb_config(endpoint)
        .to_builder()
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                // Each one set: a builder's timeout config keeps any the base set and this
                // one leaves out (the service's 800 ms read timeout survived once that way).
                .connect_timeout(std::time::Duration::from_secs(10))
                .read_timeout(std::time::Duration::from_secs(60))
                .operation_attempt_timeout(std::time::Duration::from_secs(60))
                .operation_timeout(std::time::Duration::from_secs(120))
                .build(),
        )
        .build()
}

pub fn client_for(endpoint: &str) -> Client {
    let (timeouts, retries) = pipeline_events_api::metadata::ssm_client_config();
    let config = aws_sdk_ssm::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(pipeline_events_api::metadata::https_client())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .timeout_config(timeouts)
        .retry_config(retries)
        .build();
    Client::from_conf(config)
}

/// Every item of `store`'s table, as a Scan answers (one page: the tests' tables are small).
pub async fn every_item(
    store: &pipeline_events_api::store::dynamodb::DynamoDbStore,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let output = (store.client().await)
        .scan()
        .table_name(store.table())
        .send()
        .await
        .expect("a Scan of the test's table");
    assert!(output.last_evaluated_key.is_none(), "one page");
    output.items.unwrap_or_default()
}
