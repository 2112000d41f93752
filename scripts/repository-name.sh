#!/usr/bin/env bash
# The repository as its code host names it (owner/repo, or a GitLab group path), from the path of
# the origin remote's URL: https://host/owner/repo.git, git@host:owner/repo.git or
# ssh://git@host:port/owner/repo.git. Prints nothing for a checkout without such a remote (a
# local path is not a name the code host's webhooks would use).
set -uo pipefail
export LC_ALL=C
url=$(git remote get-url origin 2>/dev/null) || exit 0
case "$url" in
  file://*) exit 0 ;;
  *://*) path=${url#*://}; path=${path#*/} ;;
  *@*:*) path=${url#*:} ;;
  *) exit 0 ;;
esac
path=${path%/}
path=${path%.git}
# The rule of crates/events/src/service.rs, and at least an owner and a name.
segment='[A-Za-z0-9._-]+'
[[ ${#path} -le 255 && "$path" =~ ^$segment(/$segment)+$ ]] || exit 0
[[ "/$path/" == */./* || "/$path/" == */../* ]] && exit 0
printf '%s\n' "$path"
exit 0
