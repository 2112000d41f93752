#!/usr/bin/env bash
# Checks what a deploy needs before anything is changed; each problem is one message saying what
# to do, in the order a user would fix them (arguments, tools, credentials, account).
# Usage: scripts/preflight.sh [--env ENV] [--need-bucket] [--bootstrap]
#   --env ENV      ENV must name infra/envs/ENV.tfvars; its reserved concurrency must fit the account
#   --need-bucket  TF_STATE_BUCKET must exist and be readable
#   --bootstrap    checks for make bootstrap (an existing GitHub OIDC provider)
set -euo pipefail
cd "$(dirname "$0")/.."

env_name=""
need_bucket=false
bootstrap=false
while (($#)); do
  case $1 in
    --env) env_name=${2:?--env needs a name}; shift 2 ;;
    --need-bucket) need_bucket=true; shift ;;
    --bootstrap) bootstrap=true; shift ;;
    *) echo "usage: preflight.sh [--env ENV] [--need-bucket] [--bootstrap]" >&2; exit 2 ;;
  esac
done

fail() {
  echo "error: $*" >&2
  exit 1
}

# 1. Arguments: cheap, and wrong ones make every later message misleading.
if [[ -n "$env_name" ]]; then
  tfvars=infra/envs/$env_name.tfvars
  [[ -f "$tfvars" ]] ||
    fail "no $tfvars: ENV must name one of: $(basename -s .tfvars infra/envs/*.tfvars | tr '\n' ' ')"
fi
[[ -n "${AWS_REGION:-}" ]] || fail "AWS_REGION is not set: put it in .env (see .env.example)"

# 2. Tools.
command -v aws >/dev/null 2>&1 ||
  fail "the AWS CLI is not installed: see https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"
command -v "${TF:-terraform}" >/dev/null 2>&1 ||
  fail "terraform (>= 1.10) is not installed: see https://developer.hashicorp.com/terraform/install"
command -v curl >/dev/null 2>&1 || fail "curl is not installed: install it with your package manager"

tf_version=$("${TF:-terraform}" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p')
if [[ -n "$tf_version" ]]; then
  IFS=. read -r major minor _ <<<"$tf_version"
  if ((major < 1 || (major == 1 && minor < 10))); then
    fail "terraform $tf_version is too old: S3 state locking (use_lockfile) needs 1.10 or later"
  fi
fi

# 3. Credentials: show the CLI's own words (unknown profile, expired SSO token, ...).
if ! identity_error=$(aws sts get-caller-identity --output text --query Account 2>&1 >/dev/null); then
  fail "no working AWS credentials (set AWS_PROFILE and run 'aws sso login', or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in .env). The AWS CLI said:
$identity_error"
fi

# 4. The account.
if $need_bucket; then
  [[ -n "${TF_STATE_BUCKET:-}" ]] || fail "TF_STATE_BUCKET is not set: put it in .env, then run 'make bootstrap' once"
  if ! bucket_error=$(aws s3api head-bucket --bucket "$TF_STATE_BUCKET" 2>&1 >/dev/null); then
    fail "state bucket '$TF_STATE_BUCKET' is missing or not yours: run 'make bootstrap' once (or fix TF_STATE_BUCKET). The AWS CLI said:
$bucket_error"
  fi
fi

# Lambda keeps 100 concurrent executions unreserved in every account: reserving N needs N more
# than that, and new accounts often have a limit of 10. Checked here, not found by a failed apply.
if [[ -n "$env_name" ]]; then
  reserved=$(sed -n 's/^ *lambda_reserved_concurrency *= *\(-\{0,1\}[0-9]\{1,\}\).*/\1/p' "$tfvars" | tail -n 1)
  if [[ -n "$reserved" ]] && ((reserved > 0)); then
    function_name=${PROJECT_NAME:-pipeline-events-api}-$env_name
    read -r limit unreserved < <(aws lambda get-account-settings --output text \
      --query '[AccountLimit.ConcurrentExecutions, AccountLimit.UnreservedConcurrentExecutions]')
    # What the function reserves already is not in the unreserved pool: it may keep or resize it.
    current=$(aws lambda get-function-concurrency --function-name "$function_name" --output text \
      --query ReservedConcurrentExecutions 2>/dev/null || true)
    [[ "$current" =~ ^[0-9]+$ ]] || current=0
    available=$((unreserved + current - 100))
    if ((reserved > available)); then
      fail "$tfvars reserves $reserved concurrent executions, but this account allows $limit in all and Lambda keeps 100 unreserved: at most $((available > 0 ? available : 0)) can be reserved here. Set lambda_reserved_concurrency = -1 in $tfvars, or ask AWS Support (Service Quotas: Lambda 'Concurrent executions') for a limit of at least $((reserved + 100 + limit - unreserved - current))."
    fi
  fi
fi

# IAM allows one OIDC provider per URL: an account that has GitHub's already (made by another
# stack) must reuse it, unless this bootstrap made it (then it is in the local state).
if $bootstrap && [[ -n "${GITHUB_OWNER:-}" && "${GITHUB_OIDC_PROVIDER:-create}" == create ]]; then
  if aws iam list-open-id-connect-providers --output text --query 'OpenIDConnectProviderList[].Arn' 2>/dev/null |
    tr '\t' '\n' | grep -q '/token\.actions\.githubusercontent\.com$'; then
    if ! "${TF:-terraform}" -chdir=infra/bootstrap state list 2>/dev/null | grep -q '^aws_iam_openid_connect_provider\.github'; then
      fail "this account already has GitHub's OIDC provider (token.actions.githubusercontent.com), made outside this bootstrap: set GITHUB_OIDC_PROVIDER=existing in .env to reuse it"
    fi
  fi
fi
