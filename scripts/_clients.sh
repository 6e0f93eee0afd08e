# Sourced by scripts/test.sh: the npm packages of the generated TypeScript client test (clients/), installed
# with npm ci when package-lock.json changed. Without npm that test is skipped (a failure in CI, which
# installs Debian's nodejs and npm first).
if command -v npm >/dev/null 2>&1; then
  lock_sum="$(sha256sum clients/package-lock.json | cut -d' ' -f1)"
  if [ "$(cat clients/node_modules/.relay-lock.sha256 2>/dev/null)" != "$lock_sum" ]; then
    echo "==> Installing the TypeScript client test's npm packages into clients/node_modules ..."
    (cd clients && npm ci --no-audit --no-fund --prefer-offline && echo "$lock_sum" > node_modules/.relay-lock.sha256) \
      || echo "npm ci failed in clients/: the TypeScript client test will not run"
  fi
else
  echo "==> npm is not installed: the TypeScript client test will be skipped"
fi
