//! moto_server: the real SSM wire protocol on 127.0.0.1, for the real aws-sdk-ssm client.

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

/// A running moto_server; stopped when dropped.
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

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

impl Moto {
    pub fn start() -> Self {
        let port = free_port();
        // Nothing of the developer's AWS set-up (a profile from .env, say) reaches moto: boto
        // inside it would fail on a profile it cannot find.
        let child = Command::new(moto_server_path())
            .env_clear()
            .envs(std::env::var_os("PATH").map(|path| ("PATH", path)))
            .envs(CLEAN_AWS_ENV)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
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
