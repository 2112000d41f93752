#!/usr/bin/env bash
# Plans, shows the plan, asks before applying it, and applies exactly the plan that was shown.
# Usage: scripts/terraform-apply.sh DIR [--destroy] [terraform plan arguments...]
# AUTO_APPROVE=1 applies without asking (CI). Without it and without a terminal to ask on, it
# stops before changing anything and says so: it can never hang on, or be refused for, a prompt.
set -euo pipefail

dir=${1:?usage: terraform-apply.sh DIR [--destroy] [plan arguments...]}
shift
action=apply
if [[ "${1:-}" == "--destroy" ]]; then
  action=destroy
  shift
fi
tf=${TF:-terraform}

# Inside DIR (terraform -chdir): .terraform/ is git-ignored. A plan can hold sensitive values, so
# it is removed however this script ends.
plan_file=.terraform/make-$action.tfplan
mkdir -p "$dir/.terraform"
trap 'rm -f "$dir/$plan_file"' EXIT

plan_args=(-input=false -detailed-exitcode -out="$plan_file")
[[ "$action" == destroy ]] && plan_args+=(-destroy)
status=0
"$tf" -chdir="$dir" plan "${plan_args[@]}" "$@" || status=$?
case $status in
  0)
    echo "No changes in $dir: nothing to $action." >&2
    exit 0
    ;;
  2) ;; # changes to make
  *) exit "$status" ;;
esac

if [[ "${AUTO_APPROVE:-}" != 1 ]]; then
  if [[ ! -t 0 ]]; then
    echo "error: no terminal to confirm the plan above; nothing was changed. Run again with AUTO_APPROVE=1 to $action it unattended." >&2
    exit 1
  fi
  read -r -p "Do you want to $action the plan above? Only 'yes' will be accepted: " answer
  if [[ "$answer" != yes ]]; then
    echo "Cancelled: nothing was changed." >&2
    exit 1
  fi
fi

"$tf" -chdir="$dir" apply -input=false "$plan_file"
