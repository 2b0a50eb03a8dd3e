# Benchmark helpers, sourced after stack.sh by scripts/bench, scripts/bench-drivers and
# scripts/bench-backup.
#
# BENCH_SCALE=tiny runs every phase of a benchmark for a second or two on small data, with
# the test command's debug build: scripts/test runs all three that way so that they cannot
# rot unnoticed. Its figures mean nothing; only the full scale's are quoted.
# BENCH_BUILD=release|debug picks the build (release at the full scale, debug at the tiny).
# BENCH_DIR is where a run keeps its cluster and logs.

BENCH_SCALE="${BENCH_SCALE:-full}"
case "$BENCH_SCALE" in
    full) BENCH_BUILD="${BENCH_BUILD:-release}" ;;
    tiny) BENCH_BUILD="${BENCH_BUILD:-debug}" ;;
    *) die "BENCH_SCALE is full or tiny, not $BENCH_SCALE" ;;
esac

# Production storage commits durably (RDS keeps fsync, synchronous commit and full-page
# writes on), so the benchmarks' PostgreSQL does too: start_postgres reads this. The
# development stack and the tests keep their fsync=off shortcut.
PG_DURABILITY="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"

# at_scale TINY FULL: prints the value for this run's scale.
at_scale() {
    if [ "$BENCH_SCALE" = tiny ]; then echo "$1"; else echo "$2"; fi
}

# build_bench_binaries PACKAGE...: builds the packages' binaries in BENCH_BUILD's profile
# and sets BIN_DIR to where they are. One invocation: cargo unifies features per
# selection, so separate builds would rebuild the dependency graph.
build_bench_binaries() {
    local packages=()
    for p in "$@"; do packages+=(-p "$p"); done
    case "$BENCH_BUILD" in
        release)
            step "Building release binaries: $* (about 15 min on 2 cores from clean)"
            cargo build --release "${packages[@]}" --bins
            BIN_DIR=target/release ;;
        debug)
            step "Building debug binaries (the test command's build): $*"
            cargo build "${packages[@]}" --bins
            BIN_DIR=target/debug ;;
        *) die "BENCH_BUILD is release or debug, not $BENCH_BUILD" ;;
    esac
}

# start_bench_stack NAME [EMULATOR_ARGS...]: a fresh, durable PostgreSQL + PostGIS, moto
# and dynalite on free ports in BENCH_DIR (.local/NAME by default), and the functions'
# settings for them. Sets bench_dir and pg_port.
start_bench_stack() {
    bench_dir="${BENCH_DIR:-$LOCAL_DIR/$1}"
    rm -rf "$bench_dir"
    pg_port=$(free_port)
    local moto_port dynamodb_port
    moto_port=$(free_port)
    dynamodb_port=$(free_port)
    start_postgres "$bench_dir/pg" "$pg_port"
    create_database "$pg_port"
    start_moto "$moto_port" "$bench_dir/moto.log" "${@:2}"
    start_dynalite "$dynamodb_port" "$bench_dir/dynalite.log"
    export_app_env "$pg_port" "$moto_port" "$dynamodb_port"
    # The request path builds its metric lines; putting them into the emulator's
    # CloudWatch is CloudWatch Logs' work in AWS, outside the function, so it is left out.
    export METRICS=off
}

# serve_gateway_and_baseline: the gateway (BIN_DIR's, on template.yaml) and the baseline
# server on free ports. Sets api_port and baseline_port.
serve_gateway_and_baseline() {
    api_port=$(free_port)
    baseline_port=$(free_port)
    step "Serving the $BENCH_BUILD gateway on 127.0.0.1:$api_port and the baseline on 127.0.0.1:$baseline_port"
    export_relay_wake "$api_port"
    start_background "$bench_dir/gateway.log" "$BIN_DIR/local-gateway" serve --port "$api_port" --template template.yaml
    wait_for_port "$api_port" "$bench_dir/gateway.log" "the gateway"
    start_background "$bench_dir/baseline.log" "$BIN_DIR/load" baseline-server --port "$baseline_port"
    wait_for_port "$baseline_port" "$bench_dir/baseline.log" "the baseline server"
}

# ensure_vroom: VROOM's Python bindings (load/routing/requirements.txt) in their own
# .local/vroom venv (they bring numpy and pandas, which nothing else needs), for the
# routing benchmark's side-by-side runs. Sets VROOM_PYTHON.
ensure_vroom() {
    VROOM_PYTHON="$LOCAL_DIR/vroom/bin/python"
    ensure_venv "$LOCAL_DIR/vroom" "$STACK_ROOT/load/routing/requirements.txt" "VROOM's Python bindings (pyvroom)"
}
