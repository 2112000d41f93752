#!/usr/bin/env bash
# Checks what a deploy needs before anything is changed; each problem is one line saying what to do.
# Usage: scripts/preflight.sh [--need-bucket]
set -euo pipefail

need_bucket=false
[[ "${1:-}" == "--need-bucket" ]] && need_bucket=true

fail() {
  echo "error: $*" >&2
  exit 1
}

command -v aws >/dev/null 2>&1 ||
  fail "the AWS CLI is not installed: see https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"
command -v terraform >/dev/null 2>&1 ||
  fail "terraform (>= 1.10) is not installed: see https://developer.hashicorp.com/terraform/install"
command -v curl >/dev/null 2>&1 || fail "curl is not installed: install it with your package manager"

tf_version=$(terraform version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p')
if [[ -n "$tf_version" ]]; then
  IFS=. read -r major minor _ <<<"$tf_version"
  if ((major < 1 || (major == 1 && minor < 10))); then
    fail "terraform $tf_version is too old: S3 state locking (use_lockfile) needs 1.10 or later"
  fi
fi

[[ -n "${AWS_REGION:-}" ]] || fail "AWS_REGION is not set: put it in .env (see .env.example)"

aws sts get-caller-identity --output text --query Account >/dev/null 2>&1 ||
  fail "no working AWS credentials: set AWS_PROFILE (and run 'aws sso login') or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in .env"

if $need_bucket; then
  [[ -n "${TF_STATE_BUCKET:-}" ]] || fail "TF_STATE_BUCKET is not set: put it in .env, then run 'make bootstrap' once"
  aws s3api head-bucket --bucket "$TF_STATE_BUCKET" >/dev/null 2>&1 ||
    fail "state bucket '$TF_STATE_BUCKET' is missing or not yours: run 'make bootstrap' once (or fix TF_STATE_BUCKET)"
fi
