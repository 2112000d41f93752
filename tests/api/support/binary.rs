//! The real binary, started as a user or Lambda would start it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The service binary under test: `SERVICE_BINARY` if set (the packaged `bootstrap`),
/// else the one cargo built for this test run.
pub fn binary_path() -> PathBuf {
    std::env::var_os("SERVICE_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pipeline-events-api")))
}

/// A command for the binary with a clean environment: nothing from the developer's shell
/// (AWS profiles, LOG_LEVEL, …) leaks into what is tested.
pub fn command(envs: &[(&str, &str)]) -> Command {
    command_for(&binary_path(), envs)
}

pub fn command_for(program: &std::path::Path, envs: &[(&str, &str)]) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// The local server, listening on a free port of 127.0.0.1; killed when dropped.
pub struct LocalServer {
    child: Child,
    pub address: SocketAddr,
    pub log_lines: mpsc::Receiver<String>,
}

impl LocalServer {
    pub fn start(envs: &[(&str, &str)]) -> Self {
        let mut all = vec![("BIND_ADDR", "127.0.0.1:0"), ("LOG_FORMAT", "json")];
        all.extend_from_slice(envs);
        let mut child = command(&all).spawn().expect("the binary starts");
        let log_lines = forward_lines(child.stderr.take().expect("piped stderr"));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let wait = deadline.saturating_duration_since(std::time::Instant::now());
            let line = log_lines.recv_timeout(wait).unwrap_or_else(|_| {
                panic!("no 'listening' log line; exit: {:?}", child.try_wait())
            });
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if let Some(address) = entry["address"].as_str() {
                let address = address.parse().expect("a socket address");
                return Self {
                    child,
                    address,
                    log_lines,
                };
            }
        }
    }

    /// Sends SIGTERM and waits for the process to end.
    pub fn terminate(mut self) -> ExitStatus {
        self.send_term_and_wait()
    }

    /// Sends SIGTERM, waits for the process to end, and returns every log line not yet read.
    pub fn terminate_and_read_log(mut self) -> Vec<String> {
        self.send_term_and_wait();
        // The forwarding thread ends when the pipe closes; until then, lines may still arrive.
        let mut lines = Vec::new();
        while let Ok(line) = self.log_lines.recv_timeout(Duration::from_secs(5)) {
            lines.push(line);
        }
        lines
    }

    fn send_term_and_wait(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        wait_with_timeout(&mut self.child, Duration::from_secs(10)).expect("exits after SIGTERM")
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary to its end (it must end within 10 s); returns the status and its log.
pub fn run_to_exit(envs: &[(&str, &str)]) -> (ExitStatus, String) {
    let mut child = command(envs).spawn().expect("the binary starts");
    let lines = forward_lines(child.stderr.take().expect("piped stderr"));
    let status = wait_with_timeout(&mut child, Duration::from_secs(10)).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("the binary did not exit")
    });
    (status, lines.iter().collect::<Vec<_>>().join("\n"))
}

/// Lines of a child's output, read on a thread until the child closes it, so the pipe neither
/// fills nor closes under the child, whether or not anyone still listens.
pub fn forward_lines(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    receiver
}

pub fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A minimal HTTP/1.1 GET over a real TCP connection: status, headers (lower-cased), body.
pub fn http_get(address: SocketAddr, path: &str) -> (u16, Vec<(String, String)>, String) {
    http_request(address, "GET", path, &[], "")
}

/// Any request, with extra header lines and a body, over a real TCP connection; an address
/// on every interface is reached through 127.0.0.1.
pub fn http_request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    use std::io::{Read, Write};
    let mut address = address;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("writes");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("reads");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a header block");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}
