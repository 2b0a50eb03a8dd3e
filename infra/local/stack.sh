# Local stack helpers, sourced by scripts/run, scripts/test and scripts/bench.
#
# Starts what the API needs on this machine: a PostgreSQL 15 + PostGIS cluster in a
# project-local folder on a non-default port, DynamoDB (dynalite, which applies
# conditional writes atomically at thousands a second) and the other AWS services (moto
# server). Installs PostGIS (apt), Node.js (apt, when missing), dynalite (npm, into
# .local/node) and the Python tools (pip, into .local/venv) when they are missing.
# Everything it starts is stopped by stop_stack, which the callers run on exit.

STACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL_DIR="$STACK_ROOT/.local"
VENV="$LOCAL_DIR/venv"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
STARTED_PG_DIRS=()
STARTED_PIDS=()

step() { printf '\n==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root to run: $*"; fi
}

ensure_postgis() {
    if [ -x "$PG_BIN/postgres" ] && [ -f /usr/share/postgresql/15/extension/postgis.control ]; then
        note "PostgreSQL 15 + PostGIS 3 present"
        return
    fi
    step "Installing PostgreSQL 15 + PostGIS 3 (apt-get install postgresql-15-postgis-3)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
        postgresql-15 postgresql-15-postgis-3 >/dev/null
    [ -x "$PG_BIN/postgres" ] || die "PostgreSQL server binaries not found in $PG_BIN"
}

# ensure_chromium: the headless browser the operations page is tested in (Debian's
# chromium and its chromedriver).
ensure_chromium() {
    if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
        note "Chromium and chromedriver present"
        return
    fi
    step "Installing Chromium and chromedriver (apt-get install chromium chromium-driver)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver >/dev/null
    command -v chromedriver >/dev/null 2>&1 || die "chromedriver not found after installing chromium-driver"
}

# ensure_venv VENV REQUIREMENTS WHAT: a virtualenv at VENV holding REQUIREMENTS (pip),
# installed again only when the requirements file changed.
ensure_venv() {
    local venv="$1" requirements="$2" what="$3"
    if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$venv/.requirements"; then
        note "$what present in ${venv#"$STACK_ROOT"/}"
        return
    fi
    step "Installing $what into ${venv#"$STACK_ROOT"/} (pip)"
    command -v python3 >/dev/null 2>&1 || die "python3 is required"
    mkdir -p "$LOCAL_DIR"
    [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/.requirements"
}

ensure_python_tools() {
    ensure_venv "$VENV" "$STACK_ROOT/infra/local/requirements.txt" \
        "the AWS emulator (moto), cfn-lint, aws-sam-translator, zizmor, check-jsonschema and schemathesis"
}

ensure_node_tools() {
    local manifest="$STACK_ROOT/infra/local/package.json"
    local stamp="$LOCAL_DIR/node/.package.json"
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        step "Installing Node.js (apt-get install nodejs npm)"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    fi
    if [ -f "$LOCAL_DIR/node/node_modules/dynalite/cli.js" ] && cmp -s "$manifest" "$stamp"; then
        note "dynalite present in .local/node"
        return
    fi
    step "Installing the local DynamoDB (dynalite) into .local/node (npm)"
    mkdir -p "$LOCAL_DIR/node"
    cp "$STACK_ROOT/infra/local/package.json" "$STACK_ROOT/infra/local/package-lock.json" "$LOCAL_DIR/node/"
    (cd "$LOCAL_DIR/node" && npm ci --no-audit --no-fund --silent >/dev/null)
    cp "$manifest" "$stamp"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# PostgreSQL refuses to run as root: run its tools as the postgres user then.
pg_run() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The server log, also as JSON lines (log/postgresql.json, which pg_current_logfile
# names): the index test reads the plans auto_explain writes there.
PG_LOG_SETTINGS="-c logging_collector=on -c log_destination=stderr,jsonlog -c log_directory=log -c log_filename=postgresql"
# Statement statistics, as RDS offers them: GET /api/health/database lists the slowest.
# PostGIS is preloaded into the server, so a new connection's first PostGIS call costs
# under a millisecond instead of the 13-15 ms of loading the library and its GEOS and PROJ
# into that backend: a deployment reaches PostgreSQL through RDS Proxy, whose long-lived
# backends have loaded it already, and the local connections should cost what those do.
PG_STATS_SETTINGS="-c shared_preload_libraries=pg_stat_statements,postgis-3 -c pg_stat_statements.track=top"

# start_postgres DATA_DIR PORT: creates the cluster on first use, then starts it. It
# skips fsync, a development shortcut, unless PG_DURABILITY says otherwise (bench.sh).
start_postgres() {
    local data="$1" port="$2"
    if [ ! -f "$data/PG_VERSION" ]; then
        step "Creating a PostgreSQL cluster in ${data#"$STACK_ROOT"/}"
        mkdir -p "$data"
        [ "$(id -u)" = 0 ] && chown postgres:postgres "$data"
        chmod 700 "$data"
        pg_run "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
    fi
    if pg_run "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        note "PostgreSQL already running in ${data#"$STACK_ROOT"/}"
        return
    fi
    step "Starting PostgreSQL on 127.0.0.1:$port"
    pg_run "$PG_BIN/pg_ctl" -D "$data" -w -t 30 -l "$data/server.log" start \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' ${PG_DURABILITY:--c fsync=off} -c max_connections=300 $PG_LOG_SETTINGS $PG_STATS_SETTINGS" \
        >/dev/null || { tail -n 20 "$data/server.log" >&2; die "PostgreSQL did not start"; }
    STARTED_PG_DIRS+=("$data")
}

stop_postgres() {
    pg_run "$PG_BIN/pg_ctl" -D "$1" -m fast stop >/dev/null 2>&1 || true
}

# start_moto PORT LOG [--moto-metrics]: the AWS emulator, in the background until
# stop_stack (--moto-metrics: moto's own CloudWatch metric store, see emulator.py).
start_moto() {
    local port="$1" log="$2"
    step "Starting the AWS emulator (moto) on 127.0.0.1:$port"
    mkdir -p "$(dirname "$log")"
    "$VENV/bin/python" "$STACK_ROOT/infra/local/emulator.py" 127.0.0.1 "$port" "${@:3}" >"$log" 2>&1 &
    STARTED_PIDS+=("$!")
    for _ in $(seq 1 100); do
        curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && return
        sleep 0.1
    done
    tail -n 20 "$log" >&2
    die "the AWS emulator did not start"
}

# start_dynalite PORT LOG: the local DynamoDB, in memory, in the background until
# stop_stack. Tables are ready at once, as the code expects of a created table.
start_dynalite() {
    local port="$1" log="$2"
    step "Starting the local DynamoDB (dynalite) on 127.0.0.1:$port"
    mkdir -p "$(dirname "$log")"
    node "$LOCAL_DIR/node/node_modules/dynalite/cli.js" --host 127.0.0.1 --port "$port" \
        --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 >"$log" 2>&1 &
    STARTED_PIDS+=("$!")
    wait_for_port "$port" "$log" "the local DynamoDB"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for_port PORT LOG WHAT: waits up to 10 s for a server to listen on PORT.
wait_for_port() {
    local port="$1" log="$2" what="$3"
    for _ in $(seq 1 100); do
        port_in_use "$port" && return
        sleep 0.1
    done
    tail -n 20 "$log" >&2
    die "$what did not start"
}

# start_background LOG COMMAND...: runs a server until stop_stack.
start_background() {
    local log="$1"
    shift
    mkdir -p "$(dirname "$log")"
    "$@" >"$log" 2>&1 &
    STARTED_PIDS+=("$!")
}

# create_database PG_PORT: the application's database, unless it exists.
create_database() {
    if ! pg_run "$PG_BIN/psql" -h 127.0.0.1 -p "$1" -U postgres -d postgres -Atqc \
            "SELECT 1 FROM pg_database WHERE datname = 'readyset'" | grep -q 1; then
        pg_run "$PG_BIN/createdb" -h 127.0.0.1 -p "$1" -U postgres readyset
    fi
}

# The functions' configuration for the local stack:
# export_app_env PG_PORT MOTO_PORT DYNALITE_PORT.
export_app_env() {
    export APP_ENV=local
    export DATABASE_URL="postgres://postgres@127.0.0.1:$1/readyset"
    export DATABASE_POOL_SIZE=16
    export APP_TABLE=readyset-local-app
    export UPLOADS_BUCKET=readyset-local-uploads
    export BACKUPS_BUCKET=readyset-local-backups
    export BACKUP_KMS_KEY_ID="${BACKUP_KMS_KEY_ID:-alias/readyset-local-backups}"
    export JWT_SECRET_ID=readyset-local-jwt
    # The emulator's account; the gateway creates the queue and delivers it.
    export OFFER_EXPIRY_QUEUE_URL="http://127.0.0.1:$2/123456789012/readyset-local-offer-expiry"
    # Plain HTTP on localhost: browsers drop Secure cookies there.
    export COOKIE_SECURE=false
    # Local webhook receivers run on plain HTTP on this machine.
    export WEBHOOK_ALLOW_INSECURE=true
    export CORS_ALLOWED_ORIGINS="${CORS_ALLOWED_ORIGINS:-http://localhost:3001,http://localhost:5173}"
    export NOTIFICATION_SENDER="${NOTIFICATION_SENDER:-Ready Set <deliveries@readyset.local>}"
    # Texts go to the emulator's SNS, which keeps them.
    export CUSTOMER_SMS="${CUSTOMER_SMS:-true}"
    export_aws_emulator_env "$2" "$3"
    export RUST_LOG="${RUST_LOG:-info}"
}

# export_relay_wake GATEWAY_PORT: functions wake the outbox relay after a committed status
# change, and hand new dispatch plans to the planner, through Lambda's Invoke API, which
# the local gateway on GATEWAY_PORT serves.
export_relay_wake() {
    export OUTBOX_RELAY_FUNCTION=outbox-relay
    # Customer messages link to the gateway's own public tracking route.
    export TRACKING_PAGE_URL="${TRACKING_PAGE_URL:-http://127.0.0.1:$1/api/track/}"
    export PLANNER_FUNCTION=dispatch-plan-solve
    export AWS_ENDPOINT_URL_LAMBDA="http://127.0.0.1:$1"
}

# prepare_app GATEWAY: emulated AWS resources, migrations and demo data, by GATEWAY
# (a local-gateway binary).
prepare_app() {
    step "Creating the DynamoDB table, S3 buckets and signing key in the emulator"
    "$1" provision
    step "Applying migrations (the migrate function)"
    "$1" invoke migrate --event "$STACK_ROOT/events/migrate.json"
    step "Loading demo data"
    "$1" seed
}

# Points the tools at the system scripts/run serves (its default ports) unless
# DATABASE_URL already names a deployment.
use_running_stack_unless_configured() {
    if [ -n "${DATABASE_URL:-}" ]; then
        note "using the configured deployment (DATABASE_URL is set)"
        return
    fi
    local pg_port="${PG_PORT:-54329}" moto_port="${MOTO_PORT:-54566}" dynamodb_port="${DYNAMODB_PORT:-54567}"
    for p in "$pg_port" "$moto_port" "$dynamodb_port"; do
        port_in_use "$p" || die "nothing listens on 127.0.0.1:$p: start the system with scripts/run first, or set DATABASE_URL and the other variables of a deployment"
    done
    export_app_env "$pg_port" "$moto_port" "$dynamodb_port"
    export RUST_LOG="${RUST_LOG:-warn}"
    note "using the local system of scripts/run (PostgreSQL on $pg_port, AWS emulator on $moto_port)"
}

stop_stack() {
    local pid data
    for pid in "${STARTED_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for data in "${STARTED_PG_DIRS[@]}"; do stop_postgres "$data"; done
    STARTED_PIDS=()
    STARTED_PG_DIRS=()
}

# Settings the functions read, pointing the AWS SDK at the emulators:
# export_aws_emulator_env MOTO_PORT DYNALITE_PORT.
export_aws_emulator_env() {
    export AWS_ENDPOINT_URL="http://127.0.0.1:$1"
    export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$2"
    export AWS_REGION=us-east-1
    export AWS_ACCESS_KEY_ID=local
    export AWS_SECRET_ACCESS_KEY=local
    export AWS_EC2_METADATA_DISABLED=true
}

# The deploy pipeline's own safety: zizmor (pinned actions, least permissions, no
# persisted credentials, no template injection) and GitHub's workflow schema.
check_workflows() {
    step "Checking the workflows (zizmor, GitHub's workflow schema)"
    "$VENV/bin/zizmor" --offline --quiet "$STACK_ROOT/.github/"
    "$VENV/bin/check-jsonschema" --builtin-schema vendor.github-workflows "$STACK_ROOT"/.github/workflows/*.yml
}

# Expands the SAM templates (the parent and its area stacks) and lints both the templates
# and their CloudFormation expansions.
check_template() {
    step "Linting template.yaml and stacks/ (cfn-lint, SAM expansion)"
    "$VENV/bin/cfn-lint" "$STACK_ROOT/template.yaml" "$STACK_ROOT"/stacks/*.yaml
    rm -rf "$LOCAL_DIR/expanded"
    AWS_DEFAULT_REGION=us-east-1 "$VENV/bin/python" "$STACK_ROOT/infra/check_template.py" \
        "$STACK_ROOT/template.yaml" "$LOCAL_DIR/expanded"
    # The translator resolves DeploymentPreference's parameter itself, so the expansions
    # no longer use it (W2001); the templates themselves are checked for it above.
    "$VENV/bin/cfn-lint" --ignore-checks W2001 -- "$LOCAL_DIR"/expanded/*.json
    step "Linting the database stack (cfn-lint infra/database.yaml)"
    "$VENV/bin/cfn-lint" "$STACK_ROOT/infra/database.yaml"
}
