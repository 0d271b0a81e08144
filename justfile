# CAFleet task runner. Every recipe is also spelled out in README.md for machines without `just`.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Build the WebUI and the release binary, then run the demo tour.
run:
    npm --prefix frontend ci
    npm --prefix frontend run build
    cargo build --release
    ./target/release/cafleet demo

# Every quality gate and every test (what CI runs).
test:
    npm --prefix frontend ci
    npm --prefix frontend run check
    npm --prefix frontend test
    npm --prefix frontend run build
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings
    cargo test
    cargo build --release
    npm --prefix frontend run e2e

# Formatting and lints only.
lint:
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings

# Broker benches (in-process) and whole-process CLI benches.
bench:
    cargo bench --bench broker
    ./benches/cli.sh

# Regenerate the offline query data in .sqlx/ after changing SQL (needs sqlx-cli).
prepare:
    rm -f dev.db
    for f in migrations/*.sql; do sqlite3 dev.db < "$f"; done
    SQLX_OFFLINE=false DATABASE_URL="sqlite:$PWD/dev.db" cargo sqlx prepare -- --all-targets

# Check that .sqlx/ matches the queries in src/ (needs sqlx-cli).
prepare-check:
    rm -f dev.db
    for f in migrations/*.sql; do sqlite3 dev.db < "$f"; done
    SQLX_OFFLINE=false DATABASE_URL="sqlite:$PWD/dev.db" cargo sqlx prepare --check -- --all-targets
