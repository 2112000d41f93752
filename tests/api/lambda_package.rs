//! The Lambda package `make package` builds: one executable `bootstrap` in a zip, linked against
//! a glibc Lambda's provided.al2023 has (2.34), and answering a real API Gateway event when
//! started as Lambda starts it. `make test` builds the package and runs these with
//! `--include-ignored`, pointing LAMBDA_PACKAGE at the zip.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::lambda_runtime::{body, invoke, start_program};
use crate::support::payloads::{Kind, event};

/// Lambda's provided.al2023 ships glibc 2.34.
const LAMBDA_GLIBC: (u32, u32) = (2, 34);

fn package_path() -> PathBuf {
    let path = std::env::var_os("LAMBDA_PACKAGE")
        .map(PathBuf::from)
        .expect(
            "LAMBDA_PACKAGE must name the zip to check: run `make test` (or `make package-test`)",
        );
    assert!(
        path.exists(),
        "{} does not exist: run `make package`",
        path.display()
    );
    path
}

/// `bootstrap` from the zip, unpacked once per test run and shared: when each test unpacked its
/// own copy to the same path, objdump could read a file another test was still writing.
fn bootstrap() -> &'static Path {
    static BOOTSTRAP: OnceLock<PathBuf> = OnceLock::new();
    BOOTSTRAP.get_or_init(unpack)
}

fn unpack() -> PathBuf {
    let file = std::fs::File::open(package_path()).expect("the zip opens");
    let mut archive = zip::ZipArchive::new(file).expect("a zip archive");
    let mut entry = archive.by_name("bootstrap").expect("bootstrap in the zip");
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).expect("bootstrap reads");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lambda-package");
    std::fs::create_dir_all(&dir).unwrap();
    // Written aside and renamed into place, so another test run never sees a partial file.
    let partial = dir.join(format!("bootstrap.{}", std::process::id()));
    std::fs::write(&partial, bytes).unwrap();
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.join("bootstrap");
    std::fs::rename(&partial, &path).unwrap();
    path
}

#[test]
#[ignore = "needs the Lambda zip: run by `make test`"]
fn the_zip_holds_only_an_executable_bootstrap() {
    let file = std::fs::File::open(package_path()).expect("the zip opens");
    let mut archive = zip::ZipArchive::new(file).expect("a zip archive");
    let names: Vec<String> = archive
        .file_names()
        .map(|name| name.expect("a readable entry name").into_owned())
        .collect();
    assert_eq!(names, ["bootstrap"]);
    let entry = archive.by_index(0).unwrap();
    let mode = entry.unix_mode().expect("unix permissions are recorded");
    assert!(mode & 0o111 != 0, "bootstrap is executable: mode {mode:o}");
}

#[test]
#[ignore = "needs the Lambda zip: run by `make test`"]
fn bootstrap_needs_no_glibc_newer_than_lambda_has() {
    let output = std::process::Command::new("objdump")
        .arg("-T")
        .arg(bootstrap())
        .output()
        .expect("objdump (binutils) runs");
    assert!(
        output.status.success(),
        "objdump: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let newest = newest_glibc(&String::from_utf8_lossy(&output.stdout))
        .expect("the binary links glibc dynamically");
    assert!(
        newest <= LAMBDA_GLIBC,
        "bootstrap needs GLIBC_{}.{}, Lambda has {}.{}",
        newest.0,
        newest.1,
        LAMBDA_GLIBC.0,
        LAMBDA_GLIBC.1
    );
}

#[tokio::test]
#[ignore = "needs the Lambda zip: run by `make test`"]
async fn the_packaged_bootstrap_answers_a_rest_api_event() {
    let function = start_program(bootstrap(), &[]).await;
    let response = invoke(&function, event(Kind::RestV1, "GET", "/health", &[], "")).await;
    assert_eq!(
        response["statusCode"],
        200,
        "{response}\n{}",
        function.log()
    );
    assert_eq!(body(&response)["status"], "pass");
    assert!(function.api.init_error().is_none());
}

/// The package is built without the `docs-page` feature (the zip budget): `/docs` says where
/// the page is instead, while the description is served as everywhere.
#[tokio::test]
#[ignore = "needs the Lambda zip: run by `make test`"]
async fn the_packaged_bootstrap_serves_the_description_but_not_the_page() {
    let function = start_program(bootstrap(), &[]).await;
    let docs = invoke(&function, event(Kind::RestV1, "GET", "/docs", &[], "")).await;
    assert_eq!(docs["statusCode"], 404, "{docs}");
    assert_eq!(body(&docs)["error"]["code"], "docs_not_served");
    let description = invoke(
        &function,
        event(Kind::RestV1, "GET", "/openapi.json", &[], ""),
    )
    .await;
    assert_eq!(description["statusCode"], 200, "{description}");
    assert_eq!(body(&description)["openapi"], "3.1.0");
}

/// The newest `GLIBC_x.y` symbol version in `objdump -T` output.
fn newest_glibc(symbols: &str) -> Option<(u32, u32)> {
    symbols
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|version| {
            let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
        })
        .max()
}

#[test]
fn glibc_versions_are_read_from_objdump_output() {
    let output = "\
0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.2.5) free
0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.35) __libc_start_main
0000000000000000      DF *UND*  0000000000000000  GLIBC_2.17  clock_gettime
0000000000000000  w   D  *UND*  0000000000000000  GLIBC_PRIVATE __tls_get_addr";
    let newest = newest_glibc(output);
    assert_eq!(newest, Some((2, 35)));
    assert!(
        newest > Some(LAMBDA_GLIBC),
        "a 2.35 binary would be refused"
    );
    assert_eq!(newest_glibc("no versions here"), None);
}

/// The package is built without the operator's commands (they are for a laptop's build, and
/// their code would take the zip past its budget): one says so and exits 2, touching nothing.
#[test]
#[ignore = "needs the Lambda zip: run by `make test`"]
fn the_packaged_bootstrap_refuses_the_operator_commands() {
    for args in [
        &["import", "events.jsonl"][..],
        &["create-table"],
        &["verify"],
    ] {
        let output = std::process::Command::new(bootstrap())
            .args(args)
            .env_clear()
            .env("EVENT_STORE", "dynamodb")
            .env("EVENTS_TABLE", "never-touched")
            .env("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
            .output()
            .expect("bootstrap runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("has no operator commands") && stderr.contains("make import"),
            "{args:?}: {stderr}"
        );
    }
}
