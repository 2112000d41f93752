//! Records the git commit the binary is built from, for `/metadata` without SSM.
//! `BUILD_COMMIT_SHA` in the build environment wins (CI builds from a tarball, say); otherwise
//! `git rev-parse HEAD`; `unknown` outside a git checkout.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=BUILD_COMMIT_SHA");
    let sha = std::env::var("BUILD_COMMIT_SHA")
        .ok()
        .filter(|sha| !sha.is_empty())
        .or_else(git_head)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=BUILD_COMMIT_SHA={sha}");
}

fn git_head() -> Option<String> {
    let git_dir = Command::new("git")
        .args(["rev-parse", "--git-dir"])
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    let git_dir = String::from_utf8(git_dir.stdout).ok()?;
    let git_dir = Path::new(git_dir.trim());
    // Rebuild when HEAD moves: HEAD itself, the branch it points to, and packed refs.
    for watched in ["HEAD", "packed-refs"] {
        let path = git_dir.join(watched);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    if let Ok(head) = std::fs::read_to_string(git_dir.join("HEAD"))
        && let Some(reference) = head.strip_prefix("ref: ")
    {
        let path = git_dir.join(reference.trim());
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }

    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    let sha = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && sha.len() == 40).then_some(sha)
}
